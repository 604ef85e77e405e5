/* codec_key: C of the CFFI module for python/zlmdb/_cffi/codec_key.py.
 *
 * One call per key in each direction.  The Python side converts each
 * component to what a zlmdb_key_value holds (an unsigned, a timestamp's
 * nanoseconds, or bytes) and stores it in a zl_keyio; the bytes of all
 * components come concatenated in one `blob`, each component's length in
 * `len`, except a UUID's, which come as UUID.int's two 64-bit halves and
 * are written here as its 16 big-endian bytes (UUID.bytes).  zl_key_encode() makes the zlmdb_key_value array of them and runs
 * libzlmdb's encoder, which does every check of range, size and UTF-8;
 * zl_key_decode() runs libzlmdb's decoder and hands the values back, byte
 * components as offsets into the input.  Nothing here encodes or checks a
 * key itself. */

#include "codec_int.h"   /* src/lib: the timestamps' datetime arithmetic */

typedef struct zl_keyio {
    /* encode, in */
    uint64_t u[ZLMDB_KEY_MAX_COMPONENTS];   /* UINT* and OID; UUID: UUID.int's high 64 bits */
    uint64_t lo[ZLMDB_KEY_MAX_COMPONENTS];  /* UUID: UUID.int's low 64 bits */
    int64_t i[ZLMDB_KEY_MAX_COMPONENTS];    /* TIMESTAMP, ns */
    size_t len[ZLMDB_KEY_MAX_COMPONENTS];   /* byte components: length in the blob */
    unsigned nulls;                         /* bit j set: component j is null */
    /* encode, out */
    char *out;                              /* the key: `buf`'s bytes */
    /* decode, out: signed 64-bit only, which PyPy's JIT reads inline (an
     * unsigned 64-bit read is a call); UINT*, OID and UUID halves are
     * their bits, which Python takes modulo 2**64. */
    int64_t v[ZLMDB_KEY_MAX_COMPONENTS];    /* UINT*, OID, TIMESTAMP; UUID: high half */
    int64_t vlo[ZLMDB_KEY_MAX_COMPONENTS];  /* UUID: low half */
    int64_t off[ZLMDB_KEY_MAX_COMPONENTS];  /* byte components: start in the input */
    int64_t n[ZLMDB_KEY_MAX_COMPONENTS];    /* and length */
    zlmdb_buf buf;
} zl_keyio;
_Static_assert(ZLMDB_KEY_MAX_COMPONENTS == 8, "codec_key.cdef declares 8 components");

/* Above this an encode buffer is not kept for the next key. */
#define ZL_KEYIO_KEEP (64u * 1024u)

static zl_keyio *zl_keyio_new(void)
{
    return calloc(1, sizeof(zl_keyio));
}

static void zl_keyio_free(zl_keyio *io)
{
    if (io != NULL) {
        zlmdb_buf_dispose(&io->buf);
        free(io);
    }
}

static int zl_key_is_bytes(zlmdb_key_type t)
{
    return t == ZLMDB_KEY_UUID || t == ZLMDB_KEY_BYTES16 || t == ZLMDB_KEY_BYTES20 ||
           t == ZLMDB_KEY_BYTES32 || t == ZLMDB_KEY_STRING;
}

/* Encode the first `k` components (a prefix when `prefix`, else the full
 * key: k == desc->ncomp); bit i of io->nulls makes component i a null.
 * Returns the key's size (its bytes at io->out) or a negative libzlmdb
 * code, with the reason in zlmdb_error_last(). */
static long long zl_key_encode(const zlmdb_key_desc *desc, zl_keyio *io, unsigned k,
                               int prefix, unsigned flags, const char *blob, size_t blen)
{
    zlmdb_key_value vals[ZLMDB_KEY_MAX_COMPONENTS];
    unsigned char uuids[ZLMDB_KEY_MAX_COMPONENTS][16];
    const unsigned char *p = blob != NULL ? (const unsigned char *)blob
                                          : (const unsigned char *)"";
    size_t pos = 0;
    unsigned j;
    int rc;

    if (desc == NULL || io == NULL || k > ZLMDB_KEY_MAX_COMPONENTS) {
        zlmdb_error_clear();
        return ZLMDB_EINVAL;
    }
    memset(vals, 0, sizeof vals);
    for (j = 0; j < k; j++) {
        zlmdb_key_type t = desc->comp[j];
        if (io->nulls & (1u << j)) {
            vals[j].is_null = 1;
        } else if (t == ZLMDB_KEY_TIMESTAMP) {
            vals[j].i = io->i[j];
        } else if (t == ZLMDB_KEY_UUID) {
            /* UUID.int, 128 bits, as its 16 bytes big-endian (UUID.bytes) */
            unsigned b;
            for (b = 0; b < 8; b++) {
                uuids[j][b] = (unsigned char)(io->u[j] >> (56 - 8 * b));
                uuids[j][8 + b] = (unsigned char)(io->lo[j] >> (56 - 8 * b));
            }
            vals[j].data = uuids[j];
            vals[j].len = 16;
        } else if (zl_key_is_bytes(t)) {
            if (io->len[j] > blen - pos) {   /* the blob is shorter than said */
                zlmdb_error_clear();
                return ZLMDB_EINVAL;
            }
            vals[j].data = p + pos;
            vals[j].len = io->len[j];
            pos += io->len[j];
        } else {
            vals[j].u = io->u[j];
        }
    }
    if (io->buf.asize > ZL_KEYIO_KEEP)
        zlmdb_buf_dispose(&io->buf);
    io->buf.size = 0;
    rc = prefix ? zlmdb_key_encode_prefix(desc, vals, k, flags, &io->buf)
                : zlmdb_key_encode(desc, vals, flags, &io->buf);
    if (rc != 0)
        return rc;
    io->out = (char *)io->buf.ptr;
    return (long long)io->buf.size;
}

/* Decode a full key into io: v (and vlo for a UUID), off/n for byte
 * components (into `data`).  Returns 0 or a negative libzlmdb code. */
static int zl_key_decode(const zlmdb_key_desc *desc, zl_keyio *io, const char *data,
                         size_t len)
{
    zlmdb_key_value vals[ZLMDB_KEY_MAX_COMPONENTS];
    const unsigned char *base = data != NULL ? (const unsigned char *)data
                                             : (const unsigned char *)"";
    unsigned j;
    int rc;

    if (desc == NULL || io == NULL) {
        zlmdb_error_clear();
        return ZLMDB_EINVAL;
    }
    rc = zlmdb_key_decode(desc, base, len, vals);
    if (rc != 0)
        return rc;
    /* A successful decode has checked desc: ncomp <= ZLMDB_KEY_MAX_COMPONENTS. */
    for (j = 0; j < desc->ncomp; j++) {
        zlmdb_key_type t = desc->comp[j];
        if (t == ZLMDB_KEY_UUID) {
            /* UUID.int from the 16 bytes big-endian, as two halves */
            uint64_t hi = 0, lo = 0;
            unsigned b;
            for (b = 0; b < 8; b++) {
                hi = (hi << 8) | vals[j].data[b];
                lo = (lo << 8) | vals[j].data[8 + b];
            }
            io->v[j] = (int64_t)hi;
            io->vlo[j] = (int64_t)lo;
        } else if (t == ZLMDB_KEY_TIMESTAMP) {
            io->v[j] = vals[j].i;
        } else if (zl_key_is_bytes(t)) {
            io->off[j] = (int64_t)(vals[j].data - base);
            io->n[j] = (int64_t)vals[j].len;
        } else {
            io->v[j] = (int64_t)vals[j].u;
        }
    }
    return 0;
}

/* A datetime's fields, less its UTC offset in seconds, as int64
 * nanoseconds since 1970 (libzlmdb's arithmetic, codec_int.h, as the
 * extension's); INT64_MIN when out of range, which no datetime gives. */
static int64_t zl_key_datetime_ns(int64_t y, int m, int d, int hh, int mi, int ss, int us,
                                  int64_t off_s)
{
    int64_t ns;
    if (m < 1 || m > 12 || d < 1 || d > 31)
        return INT64_MIN;
    return zlmdb__datetime_to_ns(y, (unsigned)m, (unsigned)d, hh, mi, ss, us, off_s, &ns) < 0
               ? INT64_MIN : ns;
}

/* Nanoseconds since 1970 floored to microseconds, as UTC fields. */
typedef struct {
    int year, month, day, hour, minute, second, microsecond;
} zl_key_dt;

static zl_key_dt zl_key_ns_datetime(int64_t ns)
{
    zlmdb__datetime t;
    zl_key_dt r;
    zlmdb__ns_to_datetime(ns, &t);
    r.year = t.year;
    r.month = t.month;
    r.day = t.day;
    r.hour = t.hour;
    r.minute = t.minute;
    r.second = t.second;
    r.microsecond = t.microsecond;
    return r;
}
