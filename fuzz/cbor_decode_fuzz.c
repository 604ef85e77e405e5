/* Fuzz target: the CBOR pull reader on arbitrary bytes.  Besides "no crash,
 * no read outside the input", it checks the reader's invariants: items point
 * inside the input, depth stays within the limit, every container start is
 * matched by one END, and a decoded document re-encoded from its items
 * (definite lengths only) validates again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zlmdb.h"

#define MAX_DEPTH 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zlmdb_cbor_reader r;
    zlmdb_cbor_item it;
    zlmdb_buf out = ZLMDB_BUF_INIT;
    size_t opened = 0, closed = 0;
    int rc, indefinite = 0, enc_ok = 1;

    if (zlmdb_cbor_reader_init(&r, data, size, MAX_DEPTH) != 0)
        abort();
    for (;;) {
        rc = zlmdb_cbor_reader_next(&r, &it);
        if (rc != 0) {
            if (r.error != rc || r.error_offset > size)
                abort();
            break;
        }
        if (it.kind == ZLMDB_CBOR_EOF)
            break;
        if (it.depth > MAX_DEPTH || it.offset > size)
            abort();
        switch (it.kind) {
        case ZLMDB_CBOR_BYTES:
        case ZLMDB_CBOR_TEXT:
            if (it.indefinite) {
                opened++;
                indefinite = 1;
                break;
            }
            if (it.data < data || it.len > size || it.data + it.len > data + size)
                abort();
            if (it.kind == ZLMDB_CBOR_TEXT)
                enc_ok &= zlmdb_cbor_encode_text(&out, (const char *)it.data, it.len) == 0;
            else
                enc_ok &= zlmdb_cbor_encode_bytes(&out, it.data, it.len) == 0;
            break;
        case ZLMDB_CBOR_ARRAY:
        case ZLMDB_CBOR_MAP:
            opened++;
            if (it.indefinite)
                indefinite = 1;
            else if (it.kind == ZLMDB_CBOR_ARRAY)
                enc_ok &= zlmdb_cbor_encode_array(&out, it.u) == 0;
            else
                enc_ok &= zlmdb_cbor_encode_map(&out, it.u) == 0;
            break;
        case ZLMDB_CBOR_END:
            closed++;
            break;
        case ZLMDB_CBOR_UINT: enc_ok &= zlmdb_cbor_encode_uint(&out, it.u) == 0; break;
        case ZLMDB_CBOR_NEGINT: enc_ok &= zlmdb_cbor_encode_negint(&out, it.u) == 0; break;
        case ZLMDB_CBOR_TAG: enc_ok &= zlmdb_cbor_encode_tag(&out, it.u) == 0; break;
        case ZLMDB_CBOR_SIMPLE:
            enc_ok &= zlmdb_cbor_encode_simple(&out, (unsigned)it.u) == 0;
            break;
        case ZLMDB_CBOR_FALSE: enc_ok &= zlmdb_cbor_encode_bool(&out, 0) == 0; break;
        case ZLMDB_CBOR_TRUE: enc_ok &= zlmdb_cbor_encode_bool(&out, 1) == 0; break;
        case ZLMDB_CBOR_NULL: enc_ok &= zlmdb_cbor_encode_null(&out) == 0; break;
        case ZLMDB_CBOR_UNDEFINED: enc_ok &= zlmdb_cbor_encode_undefined(&out) == 0; break;
        case ZLMDB_CBOR_FLOAT:
            if (it.width != 2 && it.width != 4 && it.width != 8)
                abort();
            enc_ok &= zlmdb_cbor_encode_double(&out, it.f) == 0;
            break;
        default:
            abort();
        }
        if (it.done && zlmdb_cbor_reader_finish(&r) == 0) {
            /* One whole document: its containers balance, and its
             * re-encoding (definite lengths) is well-formed too. */
            if (opened != closed || !enc_ok)
                abort();
            if (!indefinite && zlmdb_cbor_validate(out.ptr, out.size, MAX_DEPTH) != 0)
                abort();
            break;
        }
    }
    zlmdb_cbor_reader_dispose(&r);
    zlmdb_buf_dispose(&out);
    return 0;
}
