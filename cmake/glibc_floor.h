/* Forced (-include) into LMDB's own source files by cmake/LMDB.cmake.
 *
 * With glibc 2.38 and newer headers, a file built with _GNU_SOURCE (LMDB's
 * mdb.c defines it) has strtol() and its family bound to new symbols
 * (__isoc23_strtol, GLIBC_2.38), and glibc's inline atoi() calls strtol().
 * LMDB reads the kernel version with atoi(), so a wheel built on such a
 * system would need glibc 2.38 and could not be a manylinux_2_34 wheel.
 * LMDB parses only decimal numbers there, where the ISO C23 behaviour (0b
 * prefixes) makes no difference, so the classic symbols are asked for.
 * Our own sources call none of these functions (see src/lib/platform.c,
 * read_number); auditwheel in `make dist` refuses any wheel that needs a
 * glibc newer than 2.34. */
#ifndef ZLMDB_GLIBC_FLOOR_H
#define ZLMDB_GLIBC_FLOOR_H
#if defined(__linux__)
#  ifndef _GNU_SOURCE
#    define _GNU_SOURCE 1
#  endif
#  include <features.h>
#  ifdef __GLIBC_USE_C23_STRTOL
#    undef __GLIBC_USE_C23_STRTOL
#    define __GLIBC_USE_C23_STRTOL 0
#  endif
#  ifdef __GLIBC_USE_C2X_STRTOL
#    undef __GLIBC_USE_C2X_STRTOL
#    define __GLIBC_USE_C2X_STRTOL 0
#  endif
#endif
#endif
