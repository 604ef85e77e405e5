/* Fuzz target: the JSON pull reader on arbitrary bytes.  Checks that items
 * stay inside the input (or the reader's scratch), that every string without
 * lone surrogates is valid UTF-8 and survives encode -> decode unchanged, and
 * that numbers and containers are well-formed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zlmdb.h"

#define MAX_DEPTH 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_string_roundtrip(const char *s, size_t len)
{
    zlmdb_buf enc = ZLMDB_BUF_INIT, utf8 = ZLMDB_BUF_INIT;
    zlmdb_json_reader r;
    zlmdb_json_item it;

    /* The CBOR text encoder doubles as a strict UTF-8 oracle. */
    if (zlmdb_cbor_encode_text(&utf8, s, len) != 0)
        abort();
    if (zlmdb_json_encode_string(&enc, s, len) != 0)
        abort();
    if (zlmdb_json_reader_init(&r, enc.ptr, enc.size, 1) != 0)
        abort();
    if (zlmdb_json_reader_next(&r, &it) != 0 || it.kind != ZLMDB_JSON_STRING ||
        it.len != len || (len && memcmp(it.str, s, len) != 0) || !it.done)
        abort();
    if (zlmdb_json_reader_finish(&r) != 0)
        abort();
    zlmdb_json_reader_dispose(&r);
    zlmdb_buf_dispose(&enc);
    zlmdb_buf_dispose(&utf8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zlmdb_json_reader r;
    zlmdb_json_item it;
    long balance = 0;
    int rc;

    if (zlmdb_json_reader_init(&r, data, size, MAX_DEPTH) != 0)
        abort();
    for (;;) {
        rc = zlmdb_json_reader_next(&r, &it);
        if (rc != 0) {
            if (r.error != rc || r.error_offset > size)
                abort();
            break;
        }
        if (it.kind == ZLMDB_JSON_EOF) {
            if (balance != 0 || zlmdb_json_reader_finish(&r) != 0)
                abort();
            break;
        }
        if (it.depth > MAX_DEPTH || it.offset > size)
            abort();
        switch (it.kind) {
        case ZLMDB_JSON_OBJECT_START:
        case ZLMDB_JSON_ARRAY_START:
            balance++;
            break;
        case ZLMDB_JSON_OBJECT_END:
        case ZLMDB_JSON_ARRAY_END:
            if (--balance < 0)
                abort();
            break;
        case ZLMDB_JSON_KEY:
        case ZLMDB_JSON_STRING:
            if (it.str == NULL && it.len)
                abort();
            if (!it.has_surrogates)
                check_string_roundtrip(it.str, it.len);
            break;
        case ZLMDB_JSON_NUMBER:
            if ((const uint8_t *)it.str < data || it.len == 0 ||
                (const uint8_t *)it.str + it.len > data + size)
                abort();
            break;
        default:
            break;
        }
    }
    zlmdb_json_reader_dispose(&r);
    return 0;
}
