# The LMDB engines compiled into libzlmdb (see docs/architecture.md, "Build").
#
# Provides the INTERFACE target `zlmdb_lmdb` (the lmdb.h of the default
# engine, and in system mode the system library) and the variables
#   ZLMDB_LMDB_OBJECTS      the object files of every engine (LMDB itself and
#                           its zlmdb_engine table), linked into libzlmdb
#   ZLMDB_ENGINE_DEFINITIONS  which engines exist, for src/lib/engine.c
#   ZLMDB_LMDB_ENGINES      the engines' names: "v09;v10", or "one"
#   ZLMDB_LMDB_TREE_<name>  the source directory of each compiled engine
#   ZLMDB_LMDB_PATCHED      1 when the default engine carries the hardening
#                           patches (detected by the mdb_env_copy3 they add)
#   ZLMDB_LMDB_LICENSE      the upstream license file to ship, when known
#   ZLMDB_LMDB_EMBEDDED     1 when LMDB is compiled here, 0 in system mode
#   ZLMDB_LMDB_INCLUDE_DIR  the directory holding the default engine's lmdb.h
#
# Three modes, in order of precedence:
#   ZLMDB_SYSTEM_LMDB=1       one engine: the system's liblmdb (Debian:
#                             liblmdb-dev), linked as it is
#   ZLMDB_LMDB_SOURCE=<dir>   one engine: mdb.c/midl.c of a local tree, as it is
#   (default)                 two engines from the pinned archive, verified and
#                             patched: LMDB 0.9 under its own names (the mdb_*
#                             API libzlmdb exports) and LMDB 1.0 renamed to
#                             mdb10_* by the archive's rename.h, hidden

set(ZLMDB_LMDB_LICENSE "")
set(ZLMDB_LMDB_OBJECTS "")
set(_zlmdb_engine_table "${CMAKE_CURRENT_LIST_DIR}/../src/lib/engines/engine_table.c")
get_filename_component(_zlmdb_engine_table "${_zlmdb_engine_table}" ABSOLUTE)
get_filename_component(_zlmdb_public_include "${CMAKE_CURRENT_LIST_DIR}/../include" ABSOLUTE)

function(_zlmdb_header_patched dir out)
  file(STRINGS "${dir}/lmdb.h" _copy3 REGEX "mdb_env_copy3")
  if(_copy3)
    set(${out} 1 PARENT_SCOPE)
  else()
    set(${out} 0 PARENT_SCOPE)
  endif()
endfunction()

# One compiled engine: LMDB's two sources and the engine's table, as an
# OBJECT library zlmdb_lmdb_<name>.  `rename_header` (may be empty) is
# forced into every file, giving the engine's symbols their own prefix; a
# renamed engine is also compiled hidden, since it is reached only through
# its zlmdb_engine table.
function(zlmdb_add_engine name dir rename_header)
  _zlmdb_header_patched("${dir}" _patched)
  add_library(zlmdb_lmdb_${name} OBJECT "${dir}/mdb.c" "${dir}/midl.c" "${_zlmdb_engine_table}")
  set_target_properties(zlmdb_lmdb_${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  # The engine's own lmdb.h first: mdb.c, midl.c and the table all see it.
  target_include_directories(zlmdb_lmdb_${name} BEFORE PRIVATE "${dir}")
  target_include_directories(zlmdb_lmdb_${name} PRIVATE "${_zlmdb_public_include}")
  target_compile_definitions(zlmdb_lmdb_${name} PRIVATE
    ZLMDB_ENGINE_SYMBOL=zlmdb__engine_${name} ZLMDB_ENGINE_PATCHED=${_patched})
  # LMDB is third-party code: build it as its authors do, without our
  # warnings.  Its internal assertions stay on (-UNDEBUG), as py-lmdb builds it.
  # glibc_floor.h keeps newer glibc headers from binding LMDB's atoi() to
  # a glibc 2.38 symbol (the header says why).
  set(_floor "-include;${CMAKE_CURRENT_FUNCTION_LIST_DIR}/glibc_floor.h")
  set_source_files_properties("${dir}/mdb.c" "${dir}/midl.c" PROPERTIES COMPILE_OPTIONS "-w;-UNDEBUG;${_floor}")
  # mdb.c defines only the functions lmdb.h declares; midl.c's ID-list
  # helpers are LMDB internals that no library should export.
  set_source_files_properties("${dir}/midl.c" PROPERTIES COMPILE_OPTIONS "-w;-UNDEBUG;-fvisibility=hidden;${_floor}")
  if(rename_header)
    target_compile_options(zlmdb_lmdb_${name} PRIVATE -include "${rename_header}"
                           -fvisibility=hidden)
  endif()
  if(ZLMDB_SANITIZE)
    # LMDB reads 16-bit page fields at odd offsets on purpose where the CPU
    # allows it (mdb_xcursor_init1 and friends); UBSan's alignment check
    # would abort on every dupsort database.  Every other check stays on.
    target_compile_options(zlmdb_lmdb_${name} PRIVATE -fno-sanitize=alignment)
  endif()
  find_package(Threads REQUIRED)
  target_link_libraries(zlmdb_lmdb_${name} PUBLIC Threads::Threads)
  set(ZLMDB_LMDB_OBJECTS ${ZLMDB_LMDB_OBJECTS} $<TARGET_OBJECTS:zlmdb_lmdb_${name}> PARENT_SCOPE)
  set(ZLMDB_LMDB_TREE_${name} "${dir}" PARENT_SCOPE)
endfunction()

add_library(zlmdb_lmdb INTERFACE)

if(ZLMDB_SYSTEM_LMDB)
  find_path(ZLMDB_SYSTEM_LMDB_INCLUDE lmdb.h)
  find_library(ZLMDB_SYSTEM_LMDB_LIBRARY lmdb)
  if(NOT ZLMDB_SYSTEM_LMDB_INCLUDE OR NOT ZLMDB_SYSTEM_LMDB_LIBRARY)
    message(FATAL_ERROR
      "ZLMDB_SYSTEM_LMDB=1 but no system LMDB was found.\n"
      "What to do: install it (Debian: apt-get install liblmdb-dev), or unset "
      "ZLMDB_SYSTEM_LMDB to build the pinned LMDB source.")
  endif()
  target_include_directories(zlmdb_lmdb INTERFACE "${ZLMDB_SYSTEM_LMDB_INCLUDE}")
  target_link_libraries(zlmdb_lmdb INTERFACE "${ZLMDB_SYSTEM_LMDB_LIBRARY}")
  # The engine table alone, over the system library's functions.
  _zlmdb_header_patched("${ZLMDB_SYSTEM_LMDB_INCLUDE}" _patched)
  add_library(zlmdb_lmdb_one OBJECT "${_zlmdb_engine_table}")
  set_target_properties(zlmdb_lmdb_one PROPERTIES POSITION_INDEPENDENT_CODE ON)
  target_include_directories(zlmdb_lmdb_one PRIVATE "${_zlmdb_public_include}"
                             "${ZLMDB_SYSTEM_LMDB_INCLUDE}")
  target_compile_definitions(zlmdb_lmdb_one PRIVATE
    ZLMDB_ENGINE_SYMBOL=zlmdb__engine_one ZLMDB_ENGINE_PATCHED=${_patched})
  set(ZLMDB_LMDB_OBJECTS $<TARGET_OBJECTS:zlmdb_lmdb_one>)
  set(ZLMDB_LMDB_ENGINES one)
  set(ZLMDB_LMDB_EMBEDDED 0)
  set(ZLMDB_LMDB_INCLUDE_DIR "${ZLMDB_SYSTEM_LMDB_INCLUDE}")
  message(STATUS "zlmdb: one LMDB engine, the system's ${ZLMDB_SYSTEM_LMDB_LIBRARY}")
elseif(ZLMDB_LMDB_SOURCE)
  get_filename_component(_lmdb_dir "${ZLMDB_LMDB_SOURCE}" ABSOLUTE)
  foreach(_f mdb.c midl.c midl.h lmdb.h)
    if(NOT EXISTS "${_lmdb_dir}/${_f}")
      message(FATAL_ERROR
        "ZLMDB_LMDB_SOURCE=${ZLMDB_LMDB_SOURCE} has no ${_f}.\n"
        "What to do: point it at a directory holding mdb.c, midl.c, midl.h and "
        "lmdb.h (LMDB's libraries/liblmdb), or unset it.")
    endif()
  endforeach()
  message(STATUS "zlmdb: one LMDB engine, built from ${_lmdb_dir}")
  # LMDB's own tree (libraries/liblmdb) has its license beside the source.
  if(EXISTS "${_lmdb_dir}/LICENSE")
    set(ZLMDB_LMDB_LICENSE "${_lmdb_dir}/LICENSE")
  endif()
  zlmdb_add_engine(one "${_lmdb_dir}" "")
  set(ZLMDB_LMDB_ENGINES one)
  set(ZLMDB_LMDB_EMBEDDED 1)
  set(ZLMDB_LMDB_INCLUDE_DIR "${_lmdb_dir}")
else()
  set(_lmdb_root "${CMAKE_BINARY_DIR}/_deps/lmdb-src")
  set(_cache "${ZLMDB_DEPS_CACHE}")
  if(NOT _cache)
    set(_cache "${CMAKE_BINARY_DIR}/_deps/archives")
  endif()
  execute_process(
    COMMAND "${Python3_EXECUTABLE}" "${CMAKE_CURRENT_LIST_DIR}/fetch_lmdb.py"
            --lock "${CMAKE_CURRENT_LIST_DIR}/lmdb.lock"
            --patches "v09=${CMAKE_CURRENT_LIST_DIR}/lmdb-patches-v09.txt"
            --patches "v10=${CMAKE_CURRENT_LIST_DIR}/lmdb-patches-v10.txt"
            --cache "${_cache}" --out "${_lmdb_root}"
            --bundled "${CMAKE_CURRENT_LIST_DIR}/bundled"
            --local-patches "${CMAKE_CURRENT_LIST_DIR}/patches"
    RESULT_VARIABLE _fetch_rc)
  if(NOT _fetch_rc EQUAL 0)
    message(FATAL_ERROR "zlmdb: preparing the pinned LMDB source failed (see the "
                        "message above for what to do).")
  endif()
  # Re-run the fetch step when the pin or a patch list changes.
  file(GLOB _local_patches "${CMAKE_CURRENT_LIST_DIR}/patches/*/*.patch")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
               "${CMAKE_CURRENT_LIST_DIR}/lmdb.lock"
               "${CMAKE_CURRENT_LIST_DIR}/lmdb-patches-v09.txt"
               "${CMAKE_CURRENT_LIST_DIR}/lmdb-patches-v10.txt" ${_local_patches})
  zlmdb_add_engine(v09 "${_lmdb_root}/v09" "")
  zlmdb_add_engine(v10 "${_lmdb_root}/v10" "${_lmdb_root}/v10/rename.h")
  set(ZLMDB_LMDB_ENGINES v09 v10)
  set(ZLMDB_LMDB_LICENSE "${_lmdb_root}/LICENSE")
  set(ZLMDB_LMDB_EMBEDDED 1)
  set(ZLMDB_LMDB_INCLUDE_DIR "${_lmdb_root}/v09")
endif()

if(ZLMDB_LMDB_EMBEDDED)
  target_include_directories(zlmdb_lmdb SYSTEM INTERFACE "${ZLMDB_LMDB_INCLUDE_DIR}")
endif()
set(ZLMDB_ENGINE_DEFINITIONS "")
foreach(_e IN LISTS ZLMDB_LMDB_ENGINES)
  string(TOUPPER "${_e}" _E)
  list(APPEND ZLMDB_ENGINE_DEFINITIONS ZLMDB_ENGINE_${_E}=1)
endforeach()
_zlmdb_header_patched("${ZLMDB_LMDB_INCLUDE_DIR}" ZLMDB_LMDB_PATCHED)
message(STATUS "zlmdb: LMDB engines ${ZLMDB_LMDB_ENGINES}; hardening patches present: "
               "${ZLMDB_LMDB_PATCHED}")
