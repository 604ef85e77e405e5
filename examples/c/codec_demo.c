/* The C snippets of docs/codecs.md, complete: a (UUID, timestamp) key
 * encoded under its slot, and a CBOR document walked with the pull reader.
 * Built and run by the C test suite; the docs quote this file. */
#include <stdio.h>
#include <string.h>

#include <zlmdb.h>

static int print_key(uint16_t slot, const unsigned char *uuid_bytes)
{
    size_t i;
    zlmdb_key_desc d = {2, {ZLMDB_KEY_UUID, ZLMDB_KEY_TIMESTAMP}};
    zlmdb_key_value v[2] = {{0}};
    zlmdb_buf key = ZLMDB_BUF_INIT;
    v[0].data = uuid_bytes; v[0].len = 16;
    v[1].i = 1700000000000000000;
    zlmdb_key_encode_slot(slot, &key);            /* 2-byte prefix first */
    if (zlmdb_key_encode(&d, v, 0, &key) != 0)    /* then the key */
        fprintf(stderr, "%s\n", zlmdb_error_last());
    printf("key (%zu bytes):", key.size);
    for (i = 0; i < key.size; i++)
        printf(" %02x", key.ptr[i]);
    printf("\n");
    zlmdb_buf_dispose(&key);
    return 0;
}

/* Walks one CBOR document; returns ZLMDB_OK when it is well-formed. */
static int walk(const unsigned char *data, size_t len)
{
    zlmdb_cbor_reader r;
    zlmdb_cbor_item it;
    int rc = zlmdb_cbor_reader_init(&r, data, len, 0 /* default depth 1000 */);
    while (rc == 0 && (rc = zlmdb_cbor_reader_next(&r, &it)) == 0) {
        switch (it.kind) {
        case ZLMDB_CBOR_ARRAY: /* push a list, it.u items, or it.indefinite */ break;
        case ZLMDB_CBOR_MAP:   /* push a dict, it.u pairs */ break;
        case ZLMDB_CBOR_END:   /* pop: it.end_of says what ended */ break;
        case ZLMDB_CBOR_TAG:   /* it.u applies to the next complete item */ break;
        /* UINT, NEGINT (value -1-it.u), BYTES/TEXT (it.data, it.len), FLOAT (it.f,
         * it.width), FALSE, TRUE, NULL, UNDEFINED, SIMPLE (it.u) */
        default: break;
        }
        if (it.done) break;               /* a complete top-level item */
    }
    if (rc == 0) rc = zlmdb_cbor_reader_finish(&r);  /* exactly one item, no trailing bytes */
    zlmdb_cbor_reader_dispose(&r);
    return rc;
}

int main(void)
{
    static const unsigned char uuid[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
                                           0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0};
    zlmdb_buf doc = ZLMDB_BUF_INIT;
    int rc;

    print_key(7, uuid);
    /* {"langs": ["c", "python"]} */
    if (zlmdb_cbor_encode_map(&doc, 1) || zlmdb_cbor_encode_text(&doc, "langs", 5) ||
        zlmdb_cbor_encode_array(&doc, 2) || zlmdb_cbor_encode_text(&doc, "c", 1) ||
        zlmdb_cbor_encode_text(&doc, "python", 6))
        return fprintf(stderr, "%s\n", zlmdb_error_last()), 1;
    rc = walk(doc.ptr, doc.size);
    printf("whole document (%zu bytes): %s\n", doc.size, zlmdb_strerror(rc));
    if (rc != ZLMDB_OK)
        return 1;
    rc = walk(doc.ptr, doc.size - 1);
    printf("without its last byte: %s\n", zlmdb_strerror(rc));
    zlmdb_buf_dispose(&doc);
    return rc == ZLMDB_TRUNCATED ? 0 : 1;
}
