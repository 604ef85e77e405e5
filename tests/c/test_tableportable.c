/* The private headers of the table code (table_int.h, common_int.h) as a
 * compiler without the GCC/Clang extensions sees them: __GNUC__ is taken
 * away before they are read, so their fallback branches are compiled here
 * on every build (a duplicate definition there once broke such builds).
 * The system headers come first, with the host's usual macros. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <lmdb.h>

#include "harness.h"
#include "zlmdb.h"

#if defined(__GNUC__)
#  undef __GNUC__
#endif
#include "table_int.h"

void test_tableportable__private_headers_compile_without_gnu_extensions(void)
{
#if defined(__GNUC__)
    CHECK(!"__GNUC__ is still defined: the fallback branch was not compiled");
#endif
    /* The definitions of the fallback branch are the working ones. */
    CHECK(zlmdb__hexval('0') == 0 && zlmdb__hexval('9') == 9);
    CHECK(zlmdb__hexval('a') == 10 && zlmdb__hexval('F') == 15);
    CHECK(zlmdb__hexval('g') == -1 && zlmdb__hexval(0xff) == -1);
    CHECK_RC(zlmdb__error_set(ZLMDB_EINVAL, "fallback %d", 1), ZLMDB_EINVAL);
    CHECK_STR(zlmdb_error_last(), "fallback 1");
}
