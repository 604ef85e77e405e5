/* CBOR: encoder bytes vs cbor2.dumps() (expected hex produced by cbor2 6.3
 * with default options), and the bounded pull reader. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

#include "harness.h"

static int unhex(const char *h, unsigned char *out)
{
    int n = 0;

    while (h[0] && h[1]) {
        unsigned v;
        sscanf(h, "%2x", &v);
        out[n++] = (unsigned char)v;
        h += 2;
    }
    return n;
}

#define CHECK_HEX(buf, hexstr)                                             \
    do {                                                                   \
        unsigned char w_[256];                                             \
        int n_ = unhex(hexstr, w_);                                        \
        CHECK((buf)->size == (size_t)n_);                                  \
        CHECK_MEM((buf)->ptr, w_, (size_t)n_);                             \
        zlmdb_buf_clear(buf);                                              \
    } while (0)

void test_cbor__integers_match_cbor2(void)
{
    zlmdb_buf b = ZLMDB_BUF_INIT;

    CHECK_OK(zlmdb_cbor_encode_uint(&b, 0));
    CHECK_HEX(&b, "00");
    CHECK_OK(zlmdb_cbor_encode_uint(&b, 23));
    CHECK_HEX(&b, "17");
    CHECK_OK(zlmdb_cbor_encode_uint(&b, 24));
    CHECK_HEX(&b, "1818");
    CHECK_OK(zlmdb_cbor_encode_uint(&b, 256));
    CHECK_HEX(&b, "190100");
    CHECK_OK(zlmdb_cbor_encode_uint(&b, 65536));
    CHECK_HEX(&b, "1a00010000");
    CHECK_OK(zlmdb_cbor_encode_uint(&b, UINT64_MAX));
    CHECK_HEX(&b, "1bffffffffffffffff");
    CHECK_OK(zlmdb_cbor_encode_int(&b, -1));
    CHECK_HEX(&b, "20");
    CHECK_OK(zlmdb_cbor_encode_int(&b, -500));
    CHECK_HEX(&b, "3901f3");
    CHECK_OK(zlmdb_cbor_encode_int(&b, INT64_MIN));
    CHECK_HEX(&b, "3b7fffffffffffffff");
    CHECK_OK(zlmdb_cbor_encode_negint(&b, UINT64_MAX)); /* -2**64 */
    CHECK_HEX(&b, "3bffffffffffffffff");
    zlmdb_buf_dispose(&b);
}

void test_cbor__bigints_match_cbor2(void)
{
    static const unsigned char two64[] = {1, 0, 0, 0, 0, 0, 0, 0, 0};
    static const unsigned char two100[] = {0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    static const unsigned char two100m1[] = {0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                             0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const unsigned char padded[] = {0, 0, 0x01, 0x02};
    zlmdb_buf b = ZLMDB_BUF_INIT;

    CHECK_OK(zlmdb_cbor_encode_bigint(&b, 0, two64, sizeof(two64)));   /* 2**64 */
    CHECK_HEX(&b, "c249010000000000000000");
    CHECK_OK(zlmdb_cbor_encode_bigint(&b, 1, two64, sizeof(two64)));   /* -2**64-1 */
    CHECK_HEX(&b, "c349010000000000000000");
    CHECK_OK(zlmdb_cbor_encode_bigint(&b, 0, two100, sizeof(two100))); /* 2**100 */
    CHECK_HEX(&b, "c24d10000000000000000000000000");
    CHECK_OK(zlmdb_cbor_encode_bigint(&b, 1, two100m1, sizeof(two100m1))); /* -2**100 */
    CHECK_HEX(&b, "c34d0fffffffffffffffffffffffff");
    CHECK_OK(zlmdb_cbor_encode_bigint(&b, 0, padded, sizeof(padded))); /* fits: plain */
    CHECK_HEX(&b, "190102");
    CHECK_OK(zlmdb_cbor_encode_bigint(&b, 1, NULL, 0));                /* -1 */
    CHECK_HEX(&b, "20");
    CHECK_RC(zlmdb_cbor_encode_bigint(&b, 0, NULL, 3), ZLMDB_EINVAL);
    zlmdb_buf_dispose(&b);
}

void test_cbor__floats_match_cbor2(void)
{
    zlmdb_buf b = ZLMDB_BUF_INIT;

    CHECK_OK(zlmdb_cbor_encode_double(&b, 1.5));
    CHECK_HEX(&b, "fb3ff8000000000000");
    CHECK_OK(zlmdb_cbor_encode_double(&b, 0.0));
    CHECK_HEX(&b, "fb0000000000000000");
    CHECK_OK(zlmdb_cbor_encode_double(&b, -0.0));
    CHECK_HEX(&b, "fb8000000000000000");
    CHECK_OK(zlmdb_cbor_encode_double(&b, 1e300));
    CHECK_HEX(&b, "fb7e37e43c8800759c");
    CHECK_OK(zlmdb_cbor_encode_double(&b, 0.1));
    CHECK_HEX(&b, "fb3fb999999999999a");
    CHECK_OK(zlmdb_cbor_encode_double(&b, NAN));
    CHECK_HEX(&b, "f97e00");
    CHECK_OK(zlmdb_cbor_encode_double(&b, -NAN));
    CHECK_HEX(&b, "f97e00");
    CHECK_OK(zlmdb_cbor_encode_double(&b, INFINITY));
    CHECK_HEX(&b, "f97c00");
    CHECK_OK(zlmdb_cbor_encode_double(&b, -INFINITY));
    CHECK_HEX(&b, "f9fc00");
    zlmdb_buf_dispose(&b);
}

void test_cbor__strings_containers_and_simple_match_cbor2(void)
{
    zlmdb_buf b = ZLMDB_BUF_INIT;
    char big[300];
    static const unsigned char uuid1[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

    CHECK_OK(zlmdb_cbor_encode_text(&b, "a\xc3\xa9", 3));
    CHECK_HEX(&b, "6361c3a9");
    CHECK_OK(zlmdb_cbor_encode_bytes(&b, "ab", 2));
    CHECK_HEX(&b, "426162");
    memset(big, 'x', sizeof(big));
    CHECK_OK(zlmdb_cbor_encode_bytes(&b, big, 24));
    CHECK(b.size == 26 && b.ptr[0] == 0x58 && b.ptr[1] == 24);
    zlmdb_buf_clear(&b);
    CHECK_OK(zlmdb_cbor_encode_text(&b, big, 256));
    CHECK(b.size == 259 && b.ptr[0] == 0x79 && b.ptr[1] == 1 && b.ptr[2] == 0);
    zlmdb_buf_clear(&b);
    CHECK_OK(zlmdb_cbor_encode_bool(&b, 1));
    CHECK_OK(zlmdb_cbor_encode_bool(&b, 0));
    CHECK_OK(zlmdb_cbor_encode_null(&b));
    CHECK_OK(zlmdb_cbor_encode_undefined(&b));
    CHECK_HEX(&b, "f5f4f6f7");
    /* [1, 2] and {'a': 1} */
    CHECK_OK(zlmdb_cbor_encode_array(&b, 2));
    CHECK_OK(zlmdb_cbor_encode_uint(&b, 1));
    CHECK_OK(zlmdb_cbor_encode_uint(&b, 2));
    CHECK_HEX(&b, "820102");
    CHECK_OK(zlmdb_cbor_encode_map(&b, 1));
    CHECK_OK(zlmdb_cbor_encode_text(&b, "a", 1));
    CHECK_OK(zlmdb_cbor_encode_uint(&b, 1));
    CHECK_HEX(&b, "a1616101");
    /* uuid.UUID(int=1): tag 37 over the 16 bytes */
    CHECK_OK(zlmdb_cbor_encode_tag(&b, 37));
    CHECK_OK(zlmdb_cbor_encode_bytes(&b, uuid1, 16));
    CHECK_HEX(&b, "d8255000000000000000000000000000000001");
    /* set([1, 2]): tag 258 over an array */
    CHECK_OK(zlmdb_cbor_encode_tag(&b, 258));
    CHECK_OK(zlmdb_cbor_encode_array(&b, 2));
    CHECK_OK(zlmdb_cbor_encode_uint(&b, 1));
    CHECK_OK(zlmdb_cbor_encode_uint(&b, 2));
    CHECK_HEX(&b, "d90102820102");
    /* Decimal('1.25'): tag 4 [-2, 125] */
    CHECK_OK(zlmdb_cbor_encode_tag(&b, 4));
    CHECK_OK(zlmdb_cbor_encode_array(&b, 2));
    CHECK_OK(zlmdb_cbor_encode_int(&b, -2));
    CHECK_OK(zlmdb_cbor_encode_int(&b, 125));
    CHECK_HEX(&b, "c48221187d");
    /* datetime(2024,1,2,3,4,5,tzinfo=utc): tag 0 + ISO text */
    CHECK_OK(zlmdb_cbor_encode_tag(&b, 0));
    CHECK_OK(zlmdb_cbor_encode_text(&b, "2024-01-02T03:04:05Z", 20));
    CHECK_HEX(&b, "c074323032342d30312d30325430333a30343a30355a");
    /* date(2024,1,2): tag 1004 + ISO text */
    CHECK_OK(zlmdb_cbor_encode_tag(&b, 1004));
    CHECK_OK(zlmdb_cbor_encode_text(&b, "2024-01-02", 10));
    CHECK_HEX(&b, "d903ec6a323032342d30312d3032");
    CHECK_OK(zlmdb_cbor_encode_simple(&b, 16));
    CHECK_OK(zlmdb_cbor_encode_simple(&b, 32));
    CHECK_HEX(&b, "f0f820");
    CHECK_RC(zlmdb_cbor_encode_simple(&b, 21), ZLMDB_EINVAL);
    CHECK_RC(zlmdb_cbor_encode_simple(&b, 256), ZLMDB_EINVAL);
    CHECK(b.size == 0);
    zlmdb_buf_dispose(&b);
}

void test_cbor__text_encoder_checks_utf8(void)
{
    zlmdb_buf b = ZLMDB_BUF_INIT;

    CHECK_OK(zlmdb_cbor_encode_uint(&b, 7));
    CHECK_RC(zlmdb_cbor_encode_text(&b, "\xed\xa0\x80", 3), ZLMDB_ENCODE);
    CHECK_RC(zlmdb_cbor_encode_text(&b, "a\xff", 2), ZLMDB_ENCODE);
    CHECK(b.size == 1);
    CHECK_OK(zlmdb_cbor_encode_text_unchecked(&b, "\xff", 1));
    CHECK_HEX(&b, "0761ff");
    zlmdb_buf_dispose(&b);
}

static unsigned long long ull(uint64_t v) { return (unsigned long long)v; }

/* Append to a bounded trace string. */
static void emit(char *out, size_t cap, size_t *n, const char *fmt, ...)
{
    va_list ap;
    int k;

    va_start(ap, fmt);
    k = vsnprintf(out + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (k > 0)
        *n = *n + (size_t)k < cap ? *n + (size_t)k : cap - 1;
}

/* Render the reader's items as a trace, e.g. "A2 u1 E" . */
static int trace_hex(const char *hexstr, size_t depth, char *out, size_t cap)
{
    unsigned char in[512];
    int len = unhex(hexstr, in);
    zlmdb_cbor_reader r;
    zlmdb_cbor_item it;
    size_t n = 0;
    int rc;

    out[0] = 0;
    rc = zlmdb_cbor_reader_init(&r, in, (size_t)len, depth);
    if (rc)
        return rc;
    for (;;) {
        rc = zlmdb_cbor_reader_next(&r, &it);
        if (rc || it.kind == ZLMDB_CBOR_EOF)
            break;
        switch (it.kind) {
        case ZLMDB_CBOR_UINT: emit(out, cap, &n, "u%llu ", ull(it.u)); break;
        case ZLMDB_CBOR_NEGINT: emit(out, cap, &n, "n%llu ", ull(it.u)); break;
        case ZLMDB_CBOR_BYTES:
        case ZLMDB_CBOR_TEXT:
            emit(out, cap, &n, "%c%s%.*s ", it.kind == ZLMDB_CBOR_BYTES ? 'b' : 't',
                 it.indefinite ? "*" : ":", (int)it.len,
                 it.data ? (const char *)it.data : "");
            break;
        case ZLMDB_CBOR_ARRAY:
        case ZLMDB_CBOR_MAP:
            if (it.indefinite)
                emit(out, cap, &n, "%c* ", it.kind == ZLMDB_CBOR_ARRAY ? 'A' : 'M');
            else
                emit(out, cap, &n, "%c%llu ", it.kind == ZLMDB_CBOR_ARRAY ? 'A' : 'M',
                     ull(it.u));
            break;
        case ZLMDB_CBOR_TAG: emit(out, cap, &n, "#%llu ", ull(it.u)); break;
        case ZLMDB_CBOR_SIMPLE: emit(out, cap, &n, "s%llu ", ull(it.u)); break;
        case ZLMDB_CBOR_FALSE: emit(out, cap, &n, "F "); break;
        case ZLMDB_CBOR_TRUE: emit(out, cap, &n, "T "); break;
        case ZLMDB_CBOR_NULL: emit(out, cap, &n, "N "); break;
        case ZLMDB_CBOR_UNDEFINED: emit(out, cap, &n, "U "); break;
        case ZLMDB_CBOR_FLOAT: emit(out, cap, &n, "f%u:%g ", it.width, it.f); break;
        case ZLMDB_CBOR_END: emit(out, cap, &n, "E "); break;
        default: break;
        }
        if (it.done)
            emit(out, cap, &n, "| ");
    }
    zlmdb_cbor_reader_dispose(&r);
    return rc;
}

#define TRACE(hexstr, want)                                                \
    do {                                                                   \
        char t_[512];                                                      \
        CHECK_OK(trace_hex(hexstr, 0, t_, sizeof(t_)));                    \
        CHECK_STR(t_, want);                                               \
    } while (0)

void test_cbor__reader_yields_items_and_ends(void)
{
    TRACE("00", "u0 | ");
    TRACE("1bffffffffffffffff", "u18446744073709551615 | ");
    TRACE("3bffffffffffffffff", "n18446744073709551615 | ");
    TRACE("80", "A0 E | ");
    TRACE("820102", "A2 u1 u2 E | ");
    TRACE("a1616101", "M1 t:a u1 E | ");
    TRACE("8281018180", "A2 A1 u1 E A1 A0 E E E | ");
    TRACE("d8255030313233343536373839616263646566", "#37 b:0123456789abcdef | ");
    TRACE("c1c21a65936105", "#1 #2 u1704157445 | ");
    TRACE("9f0102ff", "A* u1 u2 E | ");
    TRACE("bf616101ff", "M* t:a u1 E | ");
    TRACE("5f426162416340ff", "b* b:ab b:c b: E | ");
    TRACE("7f6161ff", "t* t:a E | ");
    TRACE("5fff", "b* E | ");
    TRACE("f4f5f6f7", "F | T | N | U | ");
    TRACE("f0f820", "s16 | s32 | ");
    TRACE("f93c00f97e00f9fc00fa3fc00000fb3ff8000000000000",
          "f2:1 | f2:nan | f2:-inf | f4:1.5 | f8:1.5 | ");
    TRACE("f90001", "f2:5.96046e-08 | ");
    TRACE("f97bff", "f2:65504 | ");
    TRACE("9f9fffff", "A* A* E E | ");
    TRACE("81d8258100", "A1 #37 A1 u0 E E | ");
}

static int check_hex(const char *hexstr, size_t depth)
{
    unsigned char in[600];
    int len = unhex(hexstr, in);
    return zlmdb_cbor_validate(in, (size_t)len, depth);
}

void test_cbor__reader_rejects_malformed(void)
{
    CHECK_RC(check_hex("", 0), ZLMDB_TRUNCATED);
    CHECK_RC(check_hex("18", 0), ZLMDB_TRUNCATED);
    CHECK_RC(check_hex("1b00000000", 0), ZLMDB_TRUNCATED);
    CHECK_RC(check_hex("1c", 0), ZLMDB_DECODE);       /* reserved ai 28 */
    CHECK_RC(check_hex("5d", 0), ZLMDB_DECODE);       /* reserved ai 29 */
    CHECK_RC(check_hex("9e", 0), ZLMDB_DECODE);       /* reserved ai 30 */
    CHECK_RC(check_hex("1f", 0), ZLMDB_DECODE);       /* indefinite uint */
    CHECK_RC(check_hex("3f", 0), ZLMDB_DECODE);       /* indefinite negint */
    CHECK_RC(check_hex("df00", 0), ZLMDB_DECODE);     /* indefinite tag */
    CHECK_RC(check_hex("ff", 0), ZLMDB_DECODE);       /* stray break */
    CHECK_RC(check_hex("81ff", 0), ZLMDB_DECODE);     /* break in definite array */
    CHECK_RC(check_hex("f800", 0), ZLMDB_DECODE);     /* simple < 32 in two bytes */
    CHECK_RC(check_hex("f814", 0), ZLMDB_DECODE);
    CHECK_RC(check_hex("5f01ff", 0), ZLMDB_DECODE);   /* non-chunk in bytes */
    CHECK_RC(check_hex("5f6161ff", 0), ZLMDB_DECODE); /* text chunk in bytes */
    CHECK_RC(check_hex("5f5f4161ffff", 0), ZLMDB_DECODE); /* nested indefinite */
    CHECK_RC(check_hex("bf6161ff", 0), ZLMDB_DECODE); /* map ends after key */
    CHECK_RC(check_hex("9fc1ff", 0), ZLMDB_DECODE);   /* tag then break */
    CHECK_RC(check_hex("c1", 0), ZLMDB_TRUNCATED);    /* tag then nothing */
    CHECK_RC(check_hex("62c3", 0), ZLMDB_TRUNCATED);
    CHECK_RC(check_hex("61ff", 0), ZLMDB_DECODE);     /* invalid UTF-8 */
    CHECK_RC(check_hex("62c0af", 0), ZLMDB_DECODE);   /* overlong */
    CHECK_RC(check_hex("63eda080", 0), ZLMDB_DECODE); /* surrogate */
    CHECK_RC(check_hex("64f4908080", 0), ZLMDB_DECODE); /* > U+10FFFF */
    CHECK_RC(check_hex("7f61ffff", 0), ZLMDB_DECODE); /* bad UTF-8 in a chunk */
    CHECK_RC(check_hex("0000", 0), ZLMDB_DECODE);     /* trailing item */
    CHECK_RC(check_hex("820102ff", 0), ZLMDB_DECODE); /* trailing byte */
    CHECK_RC(check_hex("9f01", 0), ZLMDB_TRUNCATED);
    /* Counts that the rest of the input cannot hold are refused up front. */
    CHECK_RC(check_hex("9b7fffffffffffffff00", 0), ZLMDB_TRUNCATED);
    CHECK_RC(check_hex("bb7fffffffffffffff0000", 0), ZLMDB_TRUNCATED);
    CHECK_RC(check_hex("a30102", 0), ZLMDB_TRUNCATED);
    CHECK_RC(check_hex("5bffffffffffffffff", 0), ZLMDB_TRUNCATED);
    CHECK_RC(check_hex("7b0000000100000000", 0), ZLMDB_TRUNCATED);
    CHECK_OK(check_hex("a201020304", 0));
}

void test_cbor__error_offset_is_reported(void)
{
    static const unsigned char in[] = {0x83, 0x01, 0x02, 0x1c};
    zlmdb_cbor_reader r;
    zlmdb_cbor_item it;
    int rc;

    CHECK_OK(zlmdb_cbor_reader_init(&r, in, sizeof(in), 0));
    do {
        rc = zlmdb_cbor_reader_next(&r, &it);
    } while (rc == 0);
    CHECK(rc == ZLMDB_DECODE);
    CHECK(r.error_offset == 3);
    CHECK(strstr(zlmdb_error_last(), "offset 3") != NULL);
    CHECK_RC(zlmdb_cbor_reader_next(&r, &it), ZLMDB_DECODE); /* sticky */
    CHECK_RC(zlmdb_cbor_reader_finish(&r), ZLMDB_DECODE);
    zlmdb_cbor_reader_dispose(&r);
}

void test_cbor__depth_limit_and_deep_stack(void)
{
    unsigned char in[3001];
    size_t i;

    for (i = 0; i < 3000; i++)
        in[i] = 0x81;
    in[3000] = 0x00;
    CHECK_OK(zlmdb_cbor_validate(in, 3001, 3000));
    CHECK_RC(zlmdb_cbor_validate(in, 3001, 2999), ZLMDB_TOO_DEEP);
    CHECK_RC(zlmdb_cbor_validate(in, 3001, 0), ZLMDB_TOO_DEEP); /* default 1000 */
    CHECK_OK(zlmdb_cbor_validate(in + 2000, 1001, 0));
    CHECK_RC(check_hex("8181818100", 3), ZLMDB_TOO_DEEP);
    CHECK_OK(check_hex("81818100", 3));
    CHECK_RC(check_hex("5f4161ff", 0) , ZLMDB_OK);
    CHECK_RC(check_hex("815f4161ff", 1), ZLMDB_TOO_DEEP); /* indefinite string nests */
}

void test_cbor__sequence_and_finish(void)
{
    static const unsigned char in[] = {0x01, 0x82, 0x02, 0x03};
    zlmdb_cbor_reader r;
    zlmdb_cbor_item it;

    CHECK_OK(zlmdb_cbor_reader_init(&r, in, sizeof(in), 0));
    CHECK_RC(zlmdb_cbor_reader_finish(&r), ZLMDB_TRUNCATED);
    zlmdb_cbor_reader_dispose(&r);
    CHECK_OK(zlmdb_cbor_reader_init(&r, in, sizeof(in), 0));
    CHECK_OK(zlmdb_cbor_reader_next(&r, &it));
    CHECK(it.kind == ZLMDB_CBOR_UINT && it.done && it.depth == 0 && it.offset == 0);
    CHECK_OK(zlmdb_cbor_reader_next(&r, &it));
    CHECK(it.kind == ZLMDB_CBOR_ARRAY && it.u == 2 && !it.done && it.offset == 1);
    CHECK_OK(zlmdb_cbor_reader_next(&r, &it));
    CHECK(it.kind == ZLMDB_CBOR_UINT && it.depth == 1 && it.offset == 2);
    CHECK_OK(zlmdb_cbor_reader_next(&r, &it));
    CHECK_OK(zlmdb_cbor_reader_next(&r, &it));
    CHECK(it.kind == ZLMDB_CBOR_END && it.end_of == ZLMDB_CBOR_ARRAY && it.done && it.depth == 0);
    CHECK_OK(zlmdb_cbor_reader_next(&r, &it));
    CHECK(it.kind == ZLMDB_CBOR_EOF);
    CHECK_RC(zlmdb_cbor_reader_finish(&r), ZLMDB_DECODE); /* two items */
    zlmdb_cbor_reader_dispose(&r);
}

static const char *const valid_docs[] = {
    /* {'a': [1, -500, 1.5, 'xé', b'ab', None, True, {1: 2}], 'b': tag 37 uuid,
     *  'c': indefinite text, 'd': 2**64 bignum, 'e': f16 } */
    "a5616188013901f3fb3ff80000000000006378c3a9426162f6f5a101026162d825500001020304050607"
    "08090a0b0c0d0e0f6164c24901000000000000000061637f6161626263ff6165f93c00",
    "9f820102bf6161f4ffff",
};

void test_cbor__truncation_at_every_offset_fails_cleanly(void)
{
    size_t d;

    for (d = 0; d < sizeof(valid_docs) / sizeof(valid_docs[0]); d++) {
        unsigned char in[512];
        int n = unhex(valid_docs[d], in), cut;
        CHECK_OK(zlmdb_cbor_validate(in, (size_t)n, 0));
        for (cut = 0; cut < n; cut++) {
            unsigned char *copy = malloc((size_t)cut + 1);
            int rc;
            memcpy(copy, in, (size_t)cut);
            rc = zlmdb_cbor_validate(copy, (size_t)cut, 0);
            free(copy);
            if (rc != ZLMDB_TRUNCATED) {
                zt_fail(__FILE__, __LINE__, "doc %zu cut at %d gave %d", d, cut, rc);
                return;
            }
        }
    }
}

void test_cbor__encode_then_decode_roundtrip(void)
{
    zlmdb_buf b = ZLMDB_BUF_INIT;
    zlmdb_cbor_reader r;
    zlmdb_cbor_item it;
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    int i;

    for (i = 0; i < 2000; i++) {
        int64_t v;
        double d;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v = (int64_t)(x >> (x & 63));
        if (x & 1)
            v = -v - 1;
        memcpy(&d, &x, 8);
        zlmdb_buf_clear(&b);
        CHECK_OK(zlmdb_cbor_encode_array(&b, 3));
        CHECK_OK(zlmdb_cbor_encode_int(&b, v));
        CHECK_OK(zlmdb_cbor_encode_double(&b, d));
        CHECK_OK(zlmdb_cbor_encode_bytes(&b, &x, (size_t)(x % 9)));
        CHECK_OK(zlmdb_cbor_reader_init(&r, b.ptr, b.size, 0));
        CHECK_OK(zlmdb_cbor_reader_next(&r, &it));
        CHECK(it.kind == ZLMDB_CBOR_ARRAY && it.u == 3);
        CHECK_OK(zlmdb_cbor_reader_next(&r, &it));
        if (v < 0)
            CHECK(it.kind == ZLMDB_CBOR_NEGINT && it.u == ~(uint64_t)v);
        else
            CHECK(it.kind == ZLMDB_CBOR_UINT && it.u == (uint64_t)v);
        CHECK_OK(zlmdb_cbor_reader_next(&r, &it));
        CHECK(it.kind == ZLMDB_CBOR_FLOAT);
        if (isnan(d))
            CHECK(isnan(it.f) && it.width == 2);
        else
            CHECK(it.f == d && (isinf(d) ? it.width == 2 : it.width == 8));
        CHECK_OK(zlmdb_cbor_reader_next(&r, &it));
        CHECK(it.kind == ZLMDB_CBOR_BYTES && it.len == x % 9);
        CHECK(it.len == 0 || memcmp(it.data, &x, it.len) == 0);
        CHECK_OK(zlmdb_cbor_reader_next(&r, &it));
        CHECK(it.kind == ZLMDB_CBOR_END && it.done);
        CHECK_OK(zlmdb_cbor_reader_finish(&r));
        zlmdb_cbor_reader_dispose(&r);
    }
    zlmdb_buf_dispose(&b);
}

void test_cbor__utf8_boundaries(void)
{
    CHECK_OK(check_hex("6100", 0));
    CHECK_OK(check_hex("617f", 0));
    CHECK_OK(check_hex("62c280", 0));
    CHECK_OK(check_hex("62dfbf", 0));
    CHECK_OK(check_hex("63e0a080", 0));
    CHECK_OK(check_hex("63ed9fbf", 0));
    CHECK_OK(check_hex("63ee8080", 0));
    CHECK_OK(check_hex("63efbfbf", 0));
    CHECK_OK(check_hex("64f0908080", 0));
    CHECK_OK(check_hex("64f48fbfbf", 0));
    CHECK_RC(check_hex("6180", 0), ZLMDB_DECODE);
    CHECK_RC(check_hex("62c1bf", 0), ZLMDB_DECODE);
    CHECK_RC(check_hex("63e09fbf", 0), ZLMDB_DECODE);
    CHECK_RC(check_hex("64f08fbfbf", 0), ZLMDB_DECODE);
    CHECK_RC(check_hex("64f5808080", 0), ZLMDB_DECODE);
    CHECK_RC(check_hex("62e080", 0), ZLMDB_DECODE);
    CHECK_RC(check_hex("63e08041", 0), ZLMDB_DECODE);
}

static int allocs_left;
static long live_blocks;

static void *fail_malloc(size_t size, void *payload)
{
    (void)payload;
    if (allocs_left-- <= 0)
        return NULL;
    live_blocks++;
    return malloc(size);
}

static void *fail_realloc(void *ptr, size_t size, void *payload)
{
    (void)payload;
    if (allocs_left-- <= 0)
        return NULL;
    if (ptr == NULL)
        live_blocks++;
    return realloc(ptr, size);
}

static void fail_free(void *ptr, void *payload)
{
    (void)payload;
    if (ptr)
        live_blocks--;
    free(ptr);
}

void test_cbor__allocation_failures_are_clean(void)
{
    zlmdb_allocator alloc = {ZLMDB_ALLOCATOR_VERSION, fail_malloc, fail_realloc, fail_free,
                             NULL};
    unsigned char in[201];
    int k, rc = -1;
    zlmdb_buf b = ZLMDB_BUF_INIT;

    memset(in, 0x81, 200); /* 200 nested arrays: the stack leaves its inline frames */
    in[200] = 0;
    CHECK_OK(zlmdb_set_allocator(&alloc));
    for (k = 0; k < 20; k++) {
        allocs_left = k;
        live_blocks = 0;
        rc = zlmdb_cbor_validate(in, sizeof(in), 0);
        if (live_blocks != 0 || rc == 0 || rc != ZLMDB_ENOMEM)
            break;
    }
    /* Encoders leave the buffer as it was when growing it fails. */
    allocs_left = 1;
    live_blocks = 0;
    CHECK_OK(zlmdb_cbor_encode_uint(&b, 5));
    CHECK(zlmdb_cbor_encode_bytes(&b, in, sizeof(in)) == ZLMDB_ENOMEM);
    CHECK(b.size == 1);
    zlmdb_buf_dispose(&b);
    zlmdb_set_allocator(NULL);
    CHECK(live_blocks == 0);
    CHECK(rc == 0);
    CHECK(k > 0);
}

/* Text is checked a word at a time when it is ASCII and byte by byte
 * otherwise: a multibyte or bad sequence at every offset of a 41-byte
 * text, with the error at the bad byte. */
void test_cbor__text_checked_at_every_offset(void)
{
    static const struct {
        const char *bytes;
        int valid;
    } specials[] = {
        {"\xc3\xa9", 1}, {"\xe2\x82\xac", 1}, {"\xf0\x9f\x98\x80", 1}, {"\x7f", 1},
        {"\xff", 0}, {"\xc3", 0}, {"\xed\xa0\x80", 0}, {"\xc0\xaf", 0}, {"\x80", 0},
    };
    size_t s, pos;

    for (s = 0; s < sizeof specials / sizeof specials[0]; s++) {
        for (pos = 0; pos <= 40; pos++) {
            unsigned char doc[128];
            size_t n = 2, k, len = strlen(specials[s].bytes);
            zlmdb_cbor_reader r;
            zlmdb_cbor_item it;
            int rc;

            for (k = 0; k < pos; k++)
                doc[n++] = 'a';
            memcpy(doc + n, specials[s].bytes, len);
            n += len;
            for (k = pos; k < 40; k++)
                doc[n++] = 'b';
            doc[0] = 0x78; /* text string, one-byte length */
            doc[1] = (unsigned char)(n - 2);
            CHECK_OK(zlmdb_cbor_reader_init(&r, doc, n, 0));
            rc = zlmdb_cbor_reader_next(&r, &it);
            if (specials[s].valid) {
                CHECK_OK(rc);
                CHECK(it.kind == ZLMDB_CBOR_TEXT && it.len == n - 2);
                CHECK_MEM(it.data, doc + 2, n - 2);
            } else {
                CHECK(rc == ZLMDB_DECODE);
                CHECK(r.error_offset == 2 + pos);
            }
            zlmdb_cbor_reader_dispose(&r);
        }
    }
}
