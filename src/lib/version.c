/* Version reporting for the library and the LMDB compiled into it. */
#include <lmdb.h>

#include "common_int.h"

int zlmdb_version(int *major, int *minor, int *patch)
{
    if (major)
        *major = ZLMDB_VERSION_MAJOR;
    if (minor)
        *minor = ZLMDB_VERSION_MINOR;
    if (patch)
        *patch = ZLMDB_VERSION_PATCH;
    return ZLMDB_VERSION_NUMBER;
}

const char *zlmdb_lmdb_version(int *major, int *minor, int *patch, int *patched)
{
    /* Ask the library rather than the header: with ZLMDB_SYSTEM_LMDB the
     * two could differ after a system upgrade. */
    const zlmdb_engine *eng = zlmdb__engine_default();
    const char *text = eng->version_fn(major, minor, patch);
    if (patched)
        *patched = eng->patched;
    return text;
}
