# Provides the target `zlmdb_lmdb` and the variables
#   ZLMDB_LMDB_PATCHED      1 when the LMDB in use carries the hardening patches
#                           (detected by the mdb_env_copy3 declaration they add)
#   ZLMDB_LMDB_LICENSE      the upstream license file to ship, when known
#   ZLMDB_LMDB_EMBEDDED     1 when LMDB is compiled here: `zlmdb_lmdb` is then an
#                           OBJECT library whose objects go into libzlmdb itself
#   ZLMDB_LMDB_INCLUDE_DIR  the directory holding the lmdb.h in use
#
# Three modes, in order of precedence:
#   ZLMDB_SYSTEM_LMDB=1       link the system's liblmdb (Debian: liblmdb-dev)
#   ZLMDB_LMDB_SOURCE=<dir>   compile mdb.c/midl.c from a local tree as it is
#   (default)                 fetch the pinned archive, verify, patch, compile

set(ZLMDB_LMDB_LICENSE "")

if(ZLMDB_SYSTEM_LMDB)
  find_path(ZLMDB_SYSTEM_LMDB_INCLUDE lmdb.h)
  find_library(ZLMDB_SYSTEM_LMDB_LIBRARY lmdb)
  if(NOT ZLMDB_SYSTEM_LMDB_INCLUDE OR NOT ZLMDB_SYSTEM_LMDB_LIBRARY)
    message(FATAL_ERROR
      "ZLMDB_SYSTEM_LMDB=1 but no system LMDB was found.\n"
      "What to do: install it (Debian: apt-get install liblmdb-dev), or unset "
      "ZLMDB_SYSTEM_LMDB to build the pinned LMDB source.")
  endif()
  add_library(zlmdb_lmdb INTERFACE)
  target_include_directories(zlmdb_lmdb INTERFACE "${ZLMDB_SYSTEM_LMDB_INCLUDE}")
  target_link_libraries(zlmdb_lmdb INTERFACE "${ZLMDB_SYSTEM_LMDB_LIBRARY}")
  set(ZLMDB_LMDB_EMBEDDED 0)
  set(ZLMDB_LMDB_INCLUDE_DIR "${ZLMDB_SYSTEM_LMDB_INCLUDE}")
  message(STATUS "zlmdb: linking system LMDB ${ZLMDB_SYSTEM_LMDB_LIBRARY}")
else()
  if(ZLMDB_LMDB_SOURCE)
    get_filename_component(_lmdb_dir "${ZLMDB_LMDB_SOURCE}" ABSOLUTE)
    foreach(_f mdb.c midl.c midl.h lmdb.h)
      if(NOT EXISTS "${_lmdb_dir}/${_f}")
        message(FATAL_ERROR
          "ZLMDB_LMDB_SOURCE=${ZLMDB_LMDB_SOURCE} has no ${_f}.\n"
          "What to do: point it at a directory holding mdb.c, midl.c, midl.h and "
          "lmdb.h (LMDB's libraries/liblmdb), or unset it.")
      endif()
    endforeach()
    message(STATUS "zlmdb: building LMDB from ${_lmdb_dir}")
    # LMDB's own tree (libraries/liblmdb) has its license beside the source.
    if(EXISTS "${_lmdb_dir}/LICENSE")
      set(ZLMDB_LMDB_LICENSE "${_lmdb_dir}/LICENSE")
    endif()
  else()
    set(_lmdb_dir "${CMAKE_BINARY_DIR}/_deps/lmdb-src")
    set(_cache "${ZLMDB_DEPS_CACHE}")
    if(NOT _cache)
      set(_cache "${CMAKE_BINARY_DIR}/_deps/archives")
    endif()
    execute_process(
      COMMAND "${Python3_EXECUTABLE}" "${CMAKE_CURRENT_LIST_DIR}/fetch_lmdb.py"
              --lock "${CMAKE_CURRENT_LIST_DIR}/lmdb.lock"
              --patches "${CMAKE_CURRENT_LIST_DIR}/lmdb-patches.txt"
              --cache "${_cache}" --out "${_lmdb_dir}"
              --local-patches "${CMAKE_CURRENT_LIST_DIR}/patches"
      RESULT_VARIABLE _fetch_rc)
    if(NOT _fetch_rc EQUAL 0)
      message(FATAL_ERROR "zlmdb: preparing the pinned LMDB source failed (see the "
                          "message above for what to do).")
    endif()
    # Re-run the fetch step when the pin or the patch list changes.
    file(GLOB _local_patches "${CMAKE_CURRENT_LIST_DIR}/patches/*.patch")
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
                 "${CMAKE_CURRENT_LIST_DIR}/lmdb.lock"
                 "${CMAKE_CURRENT_LIST_DIR}/lmdb-patches.txt" ${_local_patches})
    set(ZLMDB_LMDB_LICENSE "${_lmdb_dir}/LICENSE")
  endif()

  # An OBJECT library: its objects are linked into libzlmdb.a and libzlmdb.so
  # (and straight into the C benchmark), so no build product needs a liblmdb.
  add_library(zlmdb_lmdb OBJECT "${_lmdb_dir}/mdb.c" "${_lmdb_dir}/midl.c")
  set_target_properties(zlmdb_lmdb PROPERTIES POSITION_INDEPENDENT_CODE ON)
  # mdb.c defines only the functions lmdb.h declares, and they stay visible:
  # libzlmdb.so exports LMDB's API along with its own.  midl.c's ID-list
  # helpers are LMDB internals that no library should export.
  set_source_files_properties("${_lmdb_dir}/midl.c" PROPERTIES
                              COMPILE_OPTIONS "-fvisibility=hidden")
  target_include_directories(zlmdb_lmdb SYSTEM PUBLIC "${_lmdb_dir}")
  # LMDB is third-party code: build it as its authors do, without our warnings.
  # Its internal assertions stay on (-UNDEBUG), as py-lmdb builds it.
  target_compile_options(zlmdb_lmdb PRIVATE -w -UNDEBUG)
  if(ZLMDB_SANITIZE)
    # LMDB reads 16-bit page fields at odd offsets on purpose where the CPU
    # allows it (mdb_xcursor_init1 and friends); UBSan's alignment check
    # would abort on every dupsort database.  Every other check stays on.
    target_compile_options(zlmdb_lmdb PRIVATE -fno-sanitize=alignment)
  endif()
  find_package(Threads REQUIRED)
  target_link_libraries(zlmdb_lmdb PUBLIC Threads::Threads)
  set(ZLMDB_LMDB_EMBEDDED 1)
  set(ZLMDB_LMDB_INCLUDE_DIR "${_lmdb_dir}")
endif()

file(STRINGS "${ZLMDB_LMDB_INCLUDE_DIR}/lmdb.h" _copy3 REGEX "mdb_env_copy3")
if(_copy3)
  set(ZLMDB_LMDB_PATCHED 1)
else()
  set(ZLMDB_LMDB_PATCHED 0)
endif()
message(STATUS "zlmdb: LMDB hardening patches present: ${ZLMDB_LMDB_PATCHED}")
