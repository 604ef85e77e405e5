/* zlmdb.h must compile on its own, as strict C99 and as C++ (see
 * tests/c/CMakeLists.txt for the flags). */
#include "zlmdb.h"

int main(void)
{
    zlmdb_buf buf = ZLMDB_BUF_INIT;
    int rc = zlmdb_buf_append(&buf, "x", 1);
    zlmdb_buf_dispose(&buf);
    return rc == ZLMDB_OK && zlmdb_version(0, 0, 0) == ZLMDB_VERSION_NUMBER ? 0 : 1;
}
