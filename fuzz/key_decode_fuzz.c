/* Fuzz target: the key decoder.  The first byte picks a layout (those of
 * upstream's Map* classes and a few more); the rest is decoded as a key.
 * A key that decodes must re-encode to exactly the same bytes, and each of
 * its prefixes must be a prefix of those bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zlmdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define U8 ZLMDB_KEY_UINT8
#define U16 ZLMDB_KEY_UINT16
#define U16LE ZLMDB_KEY_UINT16LE
#define U32 ZLMDB_KEY_UINT32
#define U64 ZLMDB_KEY_UINT64
#define OID ZLMDB_KEY_OID
#define UUID ZLMDB_KEY_UUID
#define TS ZLMDB_KEY_TIMESTAMP
#define B16 ZLMDB_KEY_BYTES16
#define B20 ZLMDB_KEY_BYTES20
#define B32 ZLMDB_KEY_BYTES32
#define STR ZLMDB_KEY_STRING

static const zlmdb_key_desc layouts[] = {
    {1, {UUID}},
    {1, {OID}},
    {1, {STR}},
    {1, {TS}},
    {1, {B20}},
    {2, {U16, UUID}},
    {2, {UUID, TS}},
    {2, {UUID, STR}},
    {2, {STR, STR}},
    {3, {STR, STR, STR}},
    {2, {STR, OID}},
    {2, {STR, TS}},
    {3, {U16LE, UUID, TS}},
    {3, {UUID, B20, U8}},
    {3, {TS, UUID, STR}},
    {4, {UUID, UUID, UUID, STR}},
    {3, {OID, TS, STR}},
    {2, {B16, TS}},
    {5, {U8, U16, U32, U64, B32}},
    {3, {UUID, STR, U32}},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const zlmdb_key_desc *d;
    zlmdb_key_value vals[ZLMDB_KEY_MAX_COMPONENTS];
    zlmdb_buf out = ZLMDB_BUF_INIT;
    unsigned k;

    if (size < 1)
        return 0;
    d = &layouts[data[0] % (sizeof(layouts) / sizeof(layouts[0]))];
    data++;
    size--;
    if (zlmdb_key_decode(d, data, size, vals) != 0)
        return 0;
    /* Lenient: the decoder accepts OIDs above 2^53 and negative timestamps. */
    if (zlmdb_key_encode(d, vals, ZLMDB_KEY_LENIENT, &out) != 0)
        abort();
    if (out.size != size || (size && memcmp(out.ptr, data, size) != 0))
        abort();
    for (k = 0; k < d->ncomp; k++) {
        zlmdb_buf_clear(&out);
        if (zlmdb_key_encode_prefix(d, vals, k, ZLMDB_KEY_LENIENT, &out) != 0)
            continue; /* a prefix ending at a mid-key string is refused */
        if (out.size > size || (out.size && memcmp(out.ptr, data, out.size) != 0))
            abort();
    }
    zlmdb_buf_dispose(&out);
    return 0;
}
