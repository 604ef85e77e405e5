/* The C example of README.md, built and run by the C test suite. */
#include <stdio.h>
#include <zlmdb.h>

int main(void)
{
    zlmdb_buf buf = ZLMDB_BUF_INIT;
    int patched;
    const char *lmdb = zlmdb_lmdb_version(NULL, NULL, NULL, &patched);
    if (zlmdb_buf_append(&buf, "hello", 5) != ZLMDB_OK)
        return fprintf(stderr, "%s\n", zlmdb_error_last()), 1;
    printf("%s from libzlmdb %s on %s (patched: %d)\n", (char *)buf.ptr,
           ZLMDB_VERSION_STRING, lmdb, patched);
    zlmdb_buf_dispose(&buf);
    return 0;
}
