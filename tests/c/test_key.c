/* Keys: descriptor validation, byte layouts, order preservation, prefixes,
 * null handling and every error path. */
#include <stdlib.h>

#include "harness.h"

static zlmdb_key_desc desc_of(unsigned n, const zlmdb_key_type *t)
{
    zlmdb_key_desc d;
    unsigned i;

    memset(&d, 0, sizeof(d));
    d.ncomp = n;
    for (i = 0; i < n && i < ZLMDB_KEY_MAX_COMPONENTS; i++)
        d.comp[i] = t[i];
    return d;
}

static zlmdb_key_value u(uint64_t v)
{
    zlmdb_key_value x;
    memset(&x, 0, sizeof(x));
    x.u = v;
    return x;
}

static zlmdb_key_value ts(int64_t v)
{
    zlmdb_key_value x;
    memset(&x, 0, sizeof(x));
    x.i = v;
    return x;
}

static zlmdb_key_value bytes(const void *p, size_t n)
{
    zlmdb_key_value x;
    memset(&x, 0, sizeof(x));
    x.data = p;
    x.len = n;
    return x;
}

static zlmdb_key_value str(const char *s)
{
    return bytes(s, strlen(s));
}

static zlmdb_key_value null(void)
{
    zlmdb_key_value x;
    memset(&x, 0, sizeof(x));
    x.is_null = 1;
    return x;
}

void test_key__descriptor_checks(void)
{
    zlmdb_key_type t[9] = {ZLMDB_KEY_UUID, ZLMDB_KEY_STRING, ZLMDB_KEY_STRING, ZLMDB_KEY_UINT8};
    zlmdb_key_desc d;
    size_t sz;

    d = desc_of(0, t);
    CHECK_RC(zlmdb_key_desc_check(&d), ZLMDB_EINVAL);
    d = desc_of(1, t);
    d.ncomp = ZLMDB_KEY_MAX_COMPONENTS + 1;
    CHECK_RC(zlmdb_key_desc_check(&d), ZLMDB_EINVAL);
    CHECK_RC(zlmdb_key_desc_check(NULL), ZLMDB_EINVAL);
    d = desc_of(3, t); /* uuid, str, str: two strings with a fixed part */
    CHECK_RC(zlmdb_key_desc_check(&d), ZLMDB_EINVAL);
    d = desc_of(2, t);
    CHECK_OK(zlmdb_key_desc_check(&d));
    CHECK_OK(zlmdb_key_fixed_size(&d, &sz));
    CHECK(sz == ZLMDB_KEY_VARIABLE);
    d = desc_of(2, t + 1); /* str, str: NUL-separated */
    CHECK_OK(zlmdb_key_desc_check(&d));
    d.comp[0] = (zlmdb_key_type)0;
    CHECK_RC(zlmdb_key_desc_check(&d), ZLMDB_EINVAL);
    d.comp[0] = (zlmdb_key_type)99;
    CHECK_RC(zlmdb_key_desc_check(&d), ZLMDB_EINVAL);
    {
        zlmdb_key_type s4[4] = {ZLMDB_KEY_STRING, ZLMDB_KEY_STRING, ZLMDB_KEY_STRING,
                                ZLMDB_KEY_STRING};
        d = desc_of(4, s4);
        CHECK_RC(zlmdb_key_desc_check(&d), ZLMDB_EINVAL);
    }
    {
        zlmdb_key_type f[8] = {ZLMDB_KEY_UINT8, ZLMDB_KEY_UINT16, ZLMDB_KEY_UINT16LE,
                               ZLMDB_KEY_UINT32, ZLMDB_KEY_UINT64, ZLMDB_KEY_OID,
                               ZLMDB_KEY_UUID, ZLMDB_KEY_TIMESTAMP};
        zlmdb_key_type g[3] = {ZLMDB_KEY_BYTES16, ZLMDB_KEY_BYTES20, ZLMDB_KEY_BYTES32};
        d = desc_of(8, f);
        CHECK_OK(zlmdb_key_fixed_size(&d, &sz));
        CHECK(sz == 1 + 2 + 2 + 4 + 8 + 8 + 16 + 8);
        d = desc_of(3, g);
        CHECK_OK(zlmdb_key_fixed_size(&d, &sz));
        CHECK(sz == 68);
        CHECK_RC(zlmdb_key_fixed_size(&d, NULL), ZLMDB_EINVAL);
    }
}

void test_key__fixed_layouts(void)
{
    zlmdb_key_type t[8] = {ZLMDB_KEY_UINT8, ZLMDB_KEY_UINT16, ZLMDB_KEY_UINT16LE,
                           ZLMDB_KEY_UINT32, ZLMDB_KEY_UINT64, ZLMDB_KEY_OID,
                           ZLMDB_KEY_TIMESTAMP, ZLMDB_KEY_UUID};
    static const unsigned char uuid[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
                                           1, 2, 3, 4, 5, 6, 7, 8};
    static const unsigned char want[] = {
        0xAB,                                           /* u8 */
        0x01, 0x02,                                     /* u16 BE */
        0x02, 0x01,                                     /* u16 LE */
        0x01, 0x02, 0x03, 0x04,                         /* u32 */
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* u64 */
        0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* oid 2^53 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, /* ts 256 */
        0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 1, 2, 3, 4, 5, 6, 7, 8};
    zlmdb_key_desc d = desc_of(8, t);
    zlmdb_key_value v[8], back[8];
    zlmdb_buf b = ZLMDB_BUF_INIT;
    size_t sz;

    v[0] = u(0xAB);
    v[1] = u(0x0102);
    v[2] = u(0x0102);
    v[3] = u(0x01020304);
    v[4] = u(0x0102030405060708ULL);
    v[5] = u(ZLMDB_KEY_OID_MAX);
    v[6] = ts(256);
    v[7] = bytes(uuid, 16);
    CHECK_OK(zlmdb_key_encode_slot(0x0102, &b));
    CHECK_OK(zlmdb_key_encode(&d, v, 0, &b));
    CHECK(b.size == 2 + sizeof(want));
    CHECK(b.ptr[0] == 1 && b.ptr[1] == 2);
    CHECK_MEM(b.ptr + 2, want, sizeof(want));
    CHECK_OK(zlmdb_key_fixed_size(&d, &sz));
    CHECK(sz == sizeof(want));
    {
        uint16_t slot;
        CHECK_OK(zlmdb_key_decode_slot(b.ptr, b.size, &slot));
        CHECK(slot == 0x0102);
        CHECK_RC(zlmdb_key_decode_slot(b.ptr, 1, &slot), ZLMDB_TRUNCATED);
    }
    CHECK_OK(zlmdb_key_decode(&d, b.ptr + 2, b.size - 2, back));
    CHECK(back[0].u == 0xAB && back[1].u == 0x0102 && back[2].u == 0x0102);
    CHECK(back[3].u == 0x01020304 && back[4].u == 0x0102030405060708ULL);
    CHECK(back[5].u == ZLMDB_KEY_OID_MAX && back[6].i == 256);
    CHECK(back[7].len == 16 && back[7].data == b.ptr + 2 + sizeof(want) - 16);
    CHECK(!back[0].is_null);
    zlmdb_buf_dispose(&b);
}

void test_key__string_layouts(void)
{
    zlmdb_key_type t1[2] = {ZLMDB_KEY_UUID, ZLMDB_KEY_STRING};
    zlmdb_key_type t2[3] = {ZLMDB_KEY_STRING, ZLMDB_KEY_STRING, ZLMDB_KEY_STRING};
    zlmdb_key_type t3[2] = {ZLMDB_KEY_STRING, ZLMDB_KEY_OID};
    static const unsigned char uuid[16] = {0};
    zlmdb_key_desc d;
    zlmdb_key_value v[3], back[3];
    zlmdb_buf b = ZLMDB_BUF_INIT;

    d = desc_of(2, t1);
    v[0] = bytes(uuid, 16);
    v[1] = str("h\xc3\xa9llo");
    CHECK_OK(zlmdb_key_encode(&d, v, 0, &b));
    CHECK(b.size == 22);
    CHECK_MEM(b.ptr + 16, "h\xc3\xa9llo", 6);
    CHECK_OK(zlmdb_key_decode(&d, b.ptr, b.size, back));
    CHECK(back[1].len == 6 && back[1].data == b.ptr + 16);
    CHECK_OK(zlmdb_key_decode(&d, b.ptr, 16, back)); /* empty string */
    CHECK(back[1].len == 0);
    CHECK_RC(zlmdb_key_decode(&d, b.ptr, 15, back), ZLMDB_TRUNCATED);
    CHECK_RC(zlmdb_key_decode(&d, "0123456789abcdef\xc3", 17, back), ZLMDB_DECODE);

    zlmdb_buf_clear(&b);
    d = desc_of(3, t2);
    v[0] = str("a");
    v[1] = str("bc");
    v[2] = str("");
    CHECK_OK(zlmdb_key_encode(&d, v, 0, &b));
    CHECK(b.size == 5);
    CHECK_MEM(b.ptr, "a\0bc\0", 5);
    CHECK_OK(zlmdb_key_decode(&d, b.ptr, b.size, back));
    CHECK(back[0].len == 1 && back[1].len == 2 && back[2].len == 0);
    CHECK_RC(zlmdb_key_decode(&d, "a\0b", 3, back), ZLMDB_TRUNCATED);
    CHECK_RC(zlmdb_key_decode(&d, "a\0b\0c\0d", 7, back), ZLMDB_DECODE);
    v[1] = bytes("b\0c", 3);
    CHECK_RC(zlmdb_key_encode(&d, v, 0, &b), ZLMDB_KEY_RANGE);
    CHECK(b.size == 5); /* unchanged on failure */

    /* (str, oid): upstream's MapStringOidOid layout, decoded from the tail. */
    zlmdb_buf_clear(&b);
    d = desc_of(2, t3);
    v[0] = str("vanilla-long");
    v[1] = u(3);
    CHECK_OK(zlmdb_key_encode(&d, v, 0, &b));
    CHECK(b.size == 20);
    CHECK_OK(zlmdb_key_decode(&d, b.ptr, b.size, back));
    CHECK(back[0].len == 12 && memcmp(back[0].data, "vanilla-long", 12) == 0);
    CHECK(back[1].u == 3);
    CHECK_RC(zlmdb_key_encode_prefix(&d, v, 1, 0, &b), ZLMDB_EINVAL);
    zlmdb_buf_dispose(&b);
}

void test_key__errors(void)
{
    zlmdb_key_type t[4] = {ZLMDB_KEY_UINT8, ZLMDB_KEY_OID, ZLMDB_KEY_TIMESTAMP,
                           ZLMDB_KEY_BYTES20};
    static const unsigned char b20[21] = {0};
    zlmdb_key_desc d = desc_of(4, t);
    zlmdb_key_value v[4];
    zlmdb_buf b = ZLMDB_BUF_INIT;

    v[0] = u(1);
    v[1] = u(2);
    v[2] = ts(3);
    v[3] = bytes(b20, 20);
    CHECK_OK(zlmdb_key_encode(&d, v, 0, &b));
    CHECK(b.size == 37);
    zlmdb_buf_clear(&b);
    v[0] = u(256);
    CHECK_RC(zlmdb_key_encode(&d, v, 0, &b), ZLMDB_KEY_RANGE);
    v[0] = u(255);
    v[1] = u(ZLMDB_KEY_OID_MAX + 1);
    CHECK_RC(zlmdb_key_encode(&d, v, 0, &b), ZLMDB_KEY_RANGE);
    CHECK_OK(zlmdb_key_encode(&d, v, ZLMDB_KEY_LENIENT, &b));
    zlmdb_buf_clear(&b);
    v[1] = u(1);
    v[2] = ts(-1);
    CHECK_RC(zlmdb_key_encode(&d, v, 0, &b), ZLMDB_KEY_RANGE);
    CHECK(strstr(zlmdb_error_last(), "1970") != NULL);
    CHECK_OK(zlmdb_key_encode(&d, v, ZLMDB_KEY_LENIENT, &b));
    {
        zlmdb_key_value back[4];
        CHECK_OK(zlmdb_key_decode(&d, b.ptr, b.size, back));
        CHECK(back[2].i == -1);
    }
    zlmdb_buf_clear(&b);
    v[2] = ts(INT64_MAX);
    v[3] = bytes(b20, 21);
    CHECK_RC(zlmdb_key_encode(&d, v, 0, &b), ZLMDB_KEY_TYPE);
    v[3] = bytes(NULL, 20);
    CHECK_RC(zlmdb_key_encode(&d, v, 0, &b), ZLMDB_KEY_TYPE);
    v[3] = null();
    CHECK_RC(zlmdb_key_encode(&d, v, 0, &b), ZLMDB_KEY_TYPE);
    CHECK(b.size == 0);
    CHECK_RC(zlmdb_key_encode(&d, NULL, 0, &b), ZLMDB_EINVAL);
    CHECK_RC(zlmdb_key_encode(&d, v, 0, NULL), ZLMDB_EINVAL);
    {
        zlmdb_key_value back[4];
        static const unsigned char raw[38] = {0};
        CHECK_RC(zlmdb_key_decode(&d, raw, 36, back), ZLMDB_TRUNCATED);
        CHECK_RC(zlmdb_key_decode(&d, raw, 38, back), ZLMDB_DECODE);
        CHECK(strstr(zlmdb_error_last(), "trailing") != NULL);
        CHECK_OK(zlmdb_key_decode(&d, raw, 37, back));
        CHECK_RC(zlmdb_key_decode(&d, NULL, 37, back), ZLMDB_EINVAL);
    }
    {
        zlmdb_key_type s[1] = {ZLMDB_KEY_STRING};
        zlmdb_key_desc ds = desc_of(1, s);
        zlmdb_key_value sv = str("\xed\xa0\x80");
        CHECK_RC(zlmdb_key_encode(&ds, &sv, 0, &b), ZLMDB_KEY_TYPE);
        sv = str("\xc0\xaf");
        CHECK_RC(zlmdb_key_encode(&ds, &sv, 0, &b), ZLMDB_KEY_TYPE);
        sv = str("a\0b");
        sv.len = 3;
        CHECK_OK(zlmdb_key_encode(&ds, &sv, 0, &b)); /* NUL is fine in a lone string */
    }
    zlmdb_buf_dispose(&b);
}

void test_key__null_as_zero(void)
{
    zlmdb_key_type t[3] = {ZLMDB_KEY_UUID, ZLMDB_KEY_TIMESTAMP, ZLMDB_KEY_STRING};
    static const unsigned char ff[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const unsigned char zero[24] = {0};
    zlmdb_key_desc d = desc_of(3, t);
    zlmdb_key_value v[3];
    zlmdb_buf b = ZLMDB_BUF_INIT;

    v[0] = bytes(ff, 16);
    v[1] = null();
    v[2] = null();
    CHECK_RC(zlmdb_key_encode(&d, v, 0, &b), ZLMDB_KEY_TYPE);
    CHECK_OK(zlmdb_key_encode(&d, v, ZLMDB_KEY_NULL_AS_ZERO, &b));
    CHECK(b.size == 24);
    CHECK_MEM(b.ptr, ff, 16);
    CHECK_MEM(b.ptr + 16, zero, 8);
    zlmdb_buf_clear(&b);
    v[0] = null();
    CHECK_OK(zlmdb_key_encode(&d, v, ZLMDB_KEY_NULL_AS_ZERO, &b));
    CHECK(b.size == 24);
    CHECK_MEM(b.ptr, zero, 24);
    zlmdb_buf_dispose(&b);
}

void test_key__prefixes(void)
{
    zlmdb_key_type t[3] = {ZLMDB_KEY_OID, ZLMDB_KEY_UINT8, ZLMDB_KEY_STRING};
    zlmdb_key_type s[3] = {ZLMDB_KEY_STRING, ZLMDB_KEY_STRING, ZLMDB_KEY_STRING};
    zlmdb_key_desc d = desc_of(3, t);
    zlmdb_key_value v[3];
    zlmdb_buf b = ZLMDB_BUF_INIT, full = ZLMDB_BUF_INIT;

    v[0] = u(7);
    v[1] = u(9);
    v[2] = str("xyz");
    CHECK_OK(zlmdb_key_encode(&d, v, 0, &full));
    CHECK_OK(zlmdb_key_encode_prefix(&d, v, 0, 0, &b));
    CHECK(b.size == 0);
    CHECK_OK(zlmdb_key_encode_prefix(&d, v, 1, 0, &b));
    CHECK(b.size == 8 && memcmp(b.ptr, full.ptr, 8) == 0);
    zlmdb_buf_clear(&b);
    CHECK_OK(zlmdb_key_encode_prefix(&d, v, 2, 0, &b));
    CHECK(b.size == 9 && memcmp(b.ptr, full.ptr, 9) == 0);
    zlmdb_buf_clear(&b);
    CHECK_OK(zlmdb_key_encode_prefix(&d, v, 3, 0, &b));
    CHECK(b.size == full.size && memcmp(b.ptr, full.ptr, b.size) == 0);
    CHECK_RC(zlmdb_key_encode_prefix(&d, v, 4, 0, &b), ZLMDB_EINVAL);

    /* NUL-separated: a prefix ends with its separator, so "a" does not match "ab". */
    zlmdb_buf_clear(&b);
    zlmdb_buf_clear(&full);
    d = desc_of(3, s);
    v[0] = str("a");
    v[1] = str("b");
    v[2] = str("c");
    CHECK_OK(zlmdb_key_encode(&d, v, 0, &full));
    CHECK(full.size == 5 && memcmp(full.ptr, "a\0b\0c", 5) == 0);
    CHECK_OK(zlmdb_key_encode_prefix(&d, v, 1, 0, &b));
    CHECK(b.size == 2 && memcmp(b.ptr, "a\0", 2) == 0);
    zlmdb_buf_clear(&b);
    CHECK_OK(zlmdb_key_encode_prefix(&d, v, 2, 0, &b));
    CHECK(b.size == 4 && memcmp(b.ptr, "a\0b\0", 4) == 0);
    zlmdb_buf_dispose(&b);
    zlmdb_buf_dispose(&full);
}

static uint64_t rng_state = 0x853c49e6748fea9bULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

struct sample {
    uint64_t a;        /* uint64 */
    int64_t t;         /* timestamp */
    unsigned char id[16];
    char s[8];         /* short string */
    unsigned char enc[64];
    size_t len;
};

static int cmp_values(const struct sample *x, const struct sample *y)
{
    int c;

    if (x->a != y->a)
        return x->a < y->a ? -1 : 1;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    c = memcmp(x->id, y->id, 16);
    if (c)
        return c < 0 ? -1 : 1;
    c = strcmp(x->s, y->s); /* byte order of UTF-8 = code point order */
    return c < 0 ? -1 : c > 0;
}

static int cmp_bytes(const struct sample *x, const struct sample *y)
{
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->enc, y->enc, n);

    if (c)
        return c < 0 ? -1 : 1;
    return x->len < y->len ? -1 : x->len > y->len;
}

void test_key__memcmp_order_equals_value_order(void)
{
    zlmdb_key_type t[4] = {ZLMDB_KEY_UINT64, ZLMDB_KEY_TIMESTAMP, ZLMDB_KEY_UUID,
                           ZLMDB_KEY_STRING};
    zlmdb_key_desc d = desc_of(4, t);
    static struct sample s[400];
    zlmdb_buf b = ZLMDB_BUF_INIT;
    size_t i, j;

    for (i = 0; i < 400; i++) {
        zlmdb_key_value v[4], back[4];
        uint64_t r = rnd();
        size_t k, n = rnd() % 4;
        /* Small domains so that ties in early components happen. */
        s[i].a = (r & 1) ? rnd() : rnd() % 3;
        s[i].t = (int64_t)((r & 2) ? rnd() >> 1 : rnd() % 3);
        for (k = 0; k < 16; k++)
            s[i].id[k] = (unsigned char)((r & 4) ? rnd() : 0);
        for (k = 0; k < n; k++)
            s[i].s[k] = (char)('a' + rnd() % 3);
        s[i].s[n] = 0;
        v[0] = u(s[i].a);
        v[1] = ts(s[i].t);
        v[2] = bytes(s[i].id, 16);
        v[3] = str(s[i].s);
        zlmdb_buf_clear(&b);
        CHECK_OK(zlmdb_key_encode(&d, v, 0, &b));
        CHECK(b.size <= sizeof(s[i].enc));
        memcpy(s[i].enc, b.ptr, b.size);
        s[i].len = b.size;
        CHECK_OK(zlmdb_key_decode(&d, s[i].enc, s[i].len, back));
        CHECK(back[0].u == s[i].a && back[1].i == s[i].t);
        CHECK(memcmp(back[2].data, s[i].id, 16) == 0);
        CHECK(back[3].len == n && memcmp(back[3].data, s[i].s, n) == 0);
    }
    for (i = 0; i < 400; i++)
        for (j = 0; j < 400; j++)
            CHECK(cmp_values(&s[i], &s[j]) == cmp_bytes(&s[i], &s[j]));
    zlmdb_buf_dispose(&b);
}

void test_key__small_integer_order(void)
{
    zlmdb_key_type types[5] = {ZLMDB_KEY_UINT8, ZLMDB_KEY_UINT16, ZLMDB_KEY_UINT32,
                               ZLMDB_KEY_OID, ZLMDB_KEY_TIMESTAMP};
    uint64_t maxv[5] = {255, 65535, 0xFFFFFFFFu, ZLMDB_KEY_OID_MAX, INT64_MAX};
    size_t ti;
    int i;

    for (ti = 0; ti < 5; ti++) {
        zlmdb_key_desc d = desc_of(1, &types[ti]);
        zlmdb_buf b1 = ZLMDB_BUF_INIT, b2 = ZLMDB_BUF_INIT;
        for (i = 0; i < 2000; i++) {
            uint64_t x = rnd() % (maxv[ti] + (maxv[ti] == UINT64_MAX ? 0 : 1));
            uint64_t y = i % 3 ? rnd() % (maxv[ti] + 1) : x + 1;
            zlmdb_key_value vx = u(x), vy = u(y);
            int c;
            if (y > maxv[ti])
                y = maxv[ti];
            vy.u = y;
            vx.i = (int64_t)x;
            vy.i = (int64_t)y;
            zlmdb_buf_clear(&b1);
            zlmdb_buf_clear(&b2);
            CHECK_OK(zlmdb_key_encode(&d, &vx, 0, &b1));
            CHECK_OK(zlmdb_key_encode(&d, &vy, 0, &b2));
            CHECK(b1.size == b2.size);
            c = memcmp(b1.ptr, b2.ptr, b1.size);
            CHECK((c < 0) == (x < y) && (c == 0) == (x == y));
        }
        zlmdb_buf_dispose(&b1);
        zlmdb_buf_dispose(&b2);
    }
}

void test_key__truncation_at_every_length(void)
{
    zlmdb_key_type t[3] = {ZLMDB_KEY_UUID, ZLMDB_KEY_TIMESTAMP, ZLMDB_KEY_BYTES32};
    zlmdb_key_desc d = desc_of(3, t);
    unsigned char raw[56];
    zlmdb_key_value back[3];
    size_t n;

    memset(raw, 0x5a, sizeof(raw));
    for (n = 0; n < 56; n++) {
        unsigned char *copy = malloc(n + 1);
        memcpy(copy, raw, n);
        CHECK_RC(zlmdb_key_decode(&d, copy, n, back), ZLMDB_TRUNCATED);
        free(copy);
    }
    CHECK_OK(zlmdb_key_decode(&d, raw, 56, back));
}
