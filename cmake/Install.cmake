# `cmake --install` for C programs: libzlmdb.a, libzlmdb.so, the headers,
# zlmdb.pc and the CMake package (zlmdb::zlmdb, zlmdb::zlmdb_static).
# Included from CMakeLists.txt when ZLMDB_INSTALL is on (never in a wheel).
#
#   <libdir>/libzlmdb.a, libzlmdb.so -> libzlmdb.so.<soversion> -> libzlmdb.so.<version>
#   <includedir>/zlmdb/zlmdb.h
#   <includedir>/zlmdb/lmdb.h          the patched LMDB header, when LMDB is built here
#   <libdir>/pkgconfig/zlmdb.pc
#   <libdir>/cmake/zlmdb/              zlmdbConfig.cmake, version file, targets
#   <datadir>/doc/zlmdb/               LICENSE, LICENSE.LMDB
#
# lmdb.h goes into its own directory rather than <includedir> itself: it
# declares the LMDB that libzlmdb exports (0.9.35 with hardening patches), and
# must neither overwrite nor be confused with a system liblmdb's lmdb.h.
#
# Every installed file names its locations relative to itself, so the tree
# works from wherever it is installed or moved (`cmake --install --prefix`).

include(CMakePackageConfigHelpers)

set(_zlmdb_cmakedir "${CMAKE_INSTALL_LIBDIR}/cmake/zlmdb")
set(_zlmdb_incdir "${CMAKE_INSTALL_INCLUDEDIR}/zlmdb")

install(TARGETS zlmdb zlmdb_shared EXPORT zlmdbTargets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}")
install(FILES "${CMAKE_CURRENT_SOURCE_DIR}/include/zlmdb.h" DESTINATION "${_zlmdb_incdir}")
if(ZLMDB_LMDB_EMBEDDED)
  install(FILES "${ZLMDB_LMDB_INCLUDE_DIR}/lmdb.h" DESTINATION "${_zlmdb_incdir}")
endif()

install(FILES "${CMAKE_CURRENT_SOURCE_DIR}/LICENSE" DESTINATION "${CMAKE_INSTALL_DOCDIR}")
if(ZLMDB_LMDB_EMBEDDED)
  if(NOT ZLMDB_LMDB_LICENSE)
    message(FATAL_ERROR
      "zlmdb: LMDB is compiled into libzlmdb but its license file is unknown.\n"
      "What to do: put LMDB's LICENSE next to mdb.c in ZLMDB_LMDB_SOURCE, or set "
      "ZLMDB_INSTALL=OFF.")
  endif()
  # The OpenLDAP Public License asks binary distributions to carry its text.
  install(FILES "${ZLMDB_LMDB_LICENSE}" DESTINATION "${CMAKE_INSTALL_DOCDIR}"
          RENAME LICENSE.LMDB)
endif()

# ---------------------------------------------------------------- CMake package
install(EXPORT zlmdbTargets NAMESPACE zlmdb:: DESTINATION "${_zlmdb_cmakedir}")
configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/zlmdbConfig.cmake.in"
  "${CMAKE_CURRENT_BINARY_DIR}/zlmdbConfig.cmake"
  INSTALL_DESTINATION "${_zlmdb_cmakedir}")
# The same rule as the SONAME: while the major version is 0, only the same
# minor version is compatible.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(_zlmdb_compat SameMinorVersion)
else()
  set(_zlmdb_compat SameMajorVersion)
endif()
write_basic_package_version_file(
  "${CMAKE_CURRENT_BINARY_DIR}/zlmdbConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}" COMPATIBILITY ${_zlmdb_compat})
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/zlmdbConfig.cmake"
              "${CMAKE_CURRENT_BINARY_DIR}/zlmdbConfigVersion.cmake"
        DESTINATION "${_zlmdb_cmakedir}")

# ---------------------------------------------------------------- pkg-config
# prefix is found from the .pc file's own place (${pcfiledir}, which pkg-config
# and pkgconf both define), unless the directories were given as absolute paths.
set(_pc_reldir "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(ZLMDB_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(ZLMDB_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(ZLMDB_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  file(RELATIVE_PATH _pc_up "/${_pc_reldir}" "/")
  string(REGEX REPLACE "/$" "" _pc_up "${_pc_up}")
  set(ZLMDB_PC_PREFIX "\${pcfiledir}/${_pc_up}")
  set(ZLMDB_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(ZLMDB_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# Libs.private is what a static link adds: LMDB is inside libzlmdb.a, and
# both need the threads library; the codecs need libm where it is separate.
# With ZLMDB_SYSTEM_LMDB, programs use that LMDB's header and library.
set(ZLMDB_PC_CFLAGS "")
set(ZLMDB_PC_LIBS "")
set(ZLMDB_PC_LIBS_PRIVATE "-pthread")
if(ZLMDB_LIBM)
  string(APPEND ZLMDB_PC_LIBS_PRIVATE " -lm")
endif()
if(NOT ZLMDB_LMDB_EMBEDDED)
  if(NOT ZLMDB_LMDB_INCLUDE_DIR IN_LIST CMAKE_C_IMPLICIT_INCLUDE_DIRECTORIES)
    set(ZLMDB_PC_CFLAGS " -I${ZLMDB_LMDB_INCLUDE_DIR}")
  endif()
  get_filename_component(_lmdb_libdir "${ZLMDB_SYSTEM_LMDB_LIBRARY}" DIRECTORY)
  if(_lmdb_libdir IN_LIST CMAKE_C_IMPLICIT_LINK_DIRECTORIES)
    set(ZLMDB_PC_LIBS " -llmdb")
  else()
    set(ZLMDB_PC_LIBS " -L${_lmdb_libdir} -llmdb")
  endif()
endif()
configure_file("${CMAKE_CURRENT_LIST_DIR}/zlmdb.pc.in"
               "${CMAKE_CURRENT_BINARY_DIR}/zlmdb.pc" @ONLY)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/zlmdb.pc" DESTINATION "${_pc_reldir}")
