/* codec_json: C of the CFFI module for python/zlmdb/_cffi/codec_json.py.
 *
 * The JSON codec on PyPy.  Every byte is written and read by libzlmdb's
 * JSON code, inlined from src/lib (codec_int.h: the string, integer and
 * literal writers; zlmdb_json_format_double(); json_read_int.h: the pull
 * reader), as the CPython extension (src/ext/pyconv_json.c) does.  What
 * differs is the shape of the calls, made for CFFI, where each call costs
 * and Python objects cannot be made from C:
 *
 * - encode: Python walks the object graph (types, cycles, the default
 *   hook, key coercion) into an op stream: one byte per value, key, open
 *   and close, with the str values and keys joined into one UTF-8 blob
 *   (their lengths in characters in `ints`, in op order, with the ints to
 *   write) and the floats in `floats`.  zl_json_encode() writes the whole
 *   document from that in one call, commas and colons included.
 * - decode: zl_json_parse() reads the whole document in one call into a
 *   flat tape of tokens; every string (keys, values, the digits of ints
 *   beyond 64 bits) is copied, unescaped, into one arena, and the tokens
 *   give their spans in characters, so Python decodes the arena once and
 *   slices it; an object member is one token (its key's span rides with
 *   its value).  Python walks the tape and builds the objects.
 *
 * Both return a pointer into buffers the thread keeps from call to call
 * (no allocation and no ffi.new() per call), leased until a *_done call. */
#include <math.h>
#include "platform.h"   /* src/lib: thread-local state, the key cache's lock */
#include "codec_int.h"
#include "json_read_int.h"

/* ============================================================ state */

/* Each thread's buffers, kept from call to call: a call leases them and
 * returns a pointer into them, which the caller reads and then hands back
 * (zl_json_encode_done, zl_json_parse_done).  CFFI releases the GIL during
 * a call, so other threads run meanwhile, on their own buffers; a call made
 * on the same thread while its buffers are leased (a finalizer or signal
 * handler running Python code between the caller's two calls) gets buffers
 * of its own, freed when it is done.  This spares the allocations and the
 * Python-side ffi.new() of every call.  A buffer that grew past ZLJ_KEEP is
 * freed at the start of the thread's next call; a thread's buffers are
 * freed when it ends. */
#define ZLJ_KEEP ((size_t)1 << 20)

typedef struct { char *p; size_t n; int rc; } zl_jout;

typedef struct {
    unsigned char *p;
    size_t len, cap;
} zlj_buf;

/* Tape token kinds (the same numbers in codec_json.py). */
enum {
    /* 1 is unused: an object member's key comes in its value's token */
    ZLJT_STR = 2,        /* a, b: its span in the arena, in characters */
    ZLJT_INT = 3,        /* a: the value */
    ZLJT_FLOAT = 4,      /* f: the value (also NaN and the infinities) */
    ZLJT_OBJ = 5,        /* '{' */
    ZLJT_ARR = 6,        /* '[' */
    ZLJT_END = 7,        /* '}' or ']' */
    ZLJT_TRUE = 8,
    ZLJT_FALSE = 9,
    ZLJT_NULL = 10,
    ZLJT_UINT = 11,      /* a: the value as int64 bits, 2**63 .. 2**64-1 */
    ZLJT_BIGINT = 12,    /* a, b: the digits in the arena; Python's int() */
    ZLJT_FLOATTEXT = 13, /* a, b: the text, where zlmdb__json_double cannot
                            convert it (64 bytes or more, or no correctly
                            rounded strtod); Python's float() */
    ZLJT_BIGSTR = 14,    /* a string of ZLJ_BIG bytes or more: a, b its byte
                            offset and length in `big` (Python decodes it by
                            itself: slicing a long non-ASCII str is slow) */
    ZLJT_BIGSTR_SUR = 15 /* the same, holding lone surrogates */
};

#define ZLJ_BIG 1024

/* One value (END: a container's end).  In an object, ka and kb are the
 * span of its key in the arena (so a member is one token, not two), and
 * kid the key's number in the key table below, or -1. */
typedef struct {
    int32_t kind;
    int32_t kid;
    int64_t a;
    int64_t b;
    int64_t ka;
    int64_t kb;
    double f;
} zl_jtok;

typedef struct {
    zl_jtok *tape;        /* n tokens */
    size_t n;
    char *arena;          /* the unescaped UTF-8 of every string */
    size_t arena_len;
    int arena_surrogates; /* the arena holds lone surrogates: 'surrogatepass' */
    int rc;               /* 0, a ZLMDB_* reader error, or -1 out of memory */
    size_t error_offset;  /* byte offset of the error */
    size_t error_chars;   /* the same in characters */
    int error_open;       /* innermost open container at the error: '[' '{' 0 */
    char msg[256];        /* libzlmdb's message */
    char *big;            /* the long strings (ZLJT_BIGSTR) */
    size_t cap, arena_cap, arena_chars, big_len, big_cap;
} zl_jparse;

/* The leases; what the caller sees comes first, so its pointer is the
 * lease's. */
typedef struct {
    zl_jout res;
    zlj_buf out;
    int busy, temp;
} zlj_enc;

typedef struct {
    zl_jparse parse;
    int busy, temp;
} zlj_dec;

typedef struct {
    zlj_enc enc;
    zlj_dec dec;
} zlj_state;

static _Thread_local zlj_state *zlj_mine;
static zlmdb__plat_tls_key zlj_key;
static zlmdb__plat_once_flag zlj_key_once = ZLMDB__PLAT_ONCE_INIT;

static void zlj_state_free(void *v)
{
    zlj_state *st = v;
    free(st->enc.out.p);
    free(st->dec.parse.tape);
    free(st->dec.parse.arena);
    free(st->dec.parse.big);
    free(st);
}

static void zlj_key_make(void)
{
    (void)zlmdb__plat_tls_create(&zlj_key, zlj_state_free);
}

static zlj_state *zlj_state_get(void)
{
    zlj_state *st = zlj_mine;

    if (st != NULL)
        return st;
    zlmdb__plat_once(&zlj_key_once, zlj_key_make);
    st = calloc(1, sizeof *st);
    if (st == NULL)
        return NULL;
    /* the key's destructor frees it when the thread ends */
    (void)zlmdb__plat_tls_set(zlj_key, st);
    zlj_mine = st;
    return st;
}

static zlj_enc *zlj_enc_take(void)
{
    zlj_state *st = zlj_state_get();
    zlj_enc *e;

    if (st != NULL && !st->enc.busy) {
        e = &st->enc;
    } else {
        e = calloc(1, sizeof *e);
        if (e == NULL)
            return NULL;
        e->temp = 1;
    }
    e->busy = 1;
    return e;
}

static void zl_json_encode_done(const zl_jout *res)
{
    zlj_enc *e = (zlj_enc *)res;

    if (e == NULL)
        return;
    if (e->temp) {
        free(e->out.p);
        free(e);
    } else {
        e->busy = 0;
    }
}

static zlj_dec *zlj_dec_take(void)
{
    zlj_state *st = zlj_state_get();
    zlj_dec *d;

    if (st != NULL && !st->dec.busy) {
        d = &st->dec;
    } else {
        d = calloc(1, sizeof *d);
        if (d == NULL)
            return NULL;
        d->temp = 1;
    }
    d->busy = 1;
    return d;
}

static void zl_json_parse_done(const zl_jparse *p)
{
    zlj_dec *d = (zlj_dec *)p;

    if (d == NULL)
        return;
    if (d->temp) {
        free(d->parse.tape);
        free(d->parse.arena);
        free(d->parse.big);
        free(d);
    } else {
        d->busy = 0;
    }
}

/* ============================================================ keys */

/* The process's object keys: each key text up to ZLJ_KC_LEN bytes gets a
 * number, the first ZLJ_KC_MAX of them, for good.  Python keeps the str of
 * each number it has seen (codec_json.py, _KEYS), so a key it has met
 * before costs no new str and no hashing.  One parse at a time uses the
 * table (a trylock: a parse that finds it in use, or a child forked while
 * it was, goes without, and its keys have no number). */
#define ZLJ_KC_LEN 64
#define ZLJ_KC_MAX 4096
#define ZLJ_KC_SLOTS 8192 /* a power of two, at least twice ZLJ_KC_MAX */

typedef struct {
    uint64_t h;
    unsigned char *text; /* NULL: a free slot */
    uint32_t len;
    int32_t id;
} zlj_kslot;

static zlj_kslot zlj_kc[ZLJ_KC_SLOTS];
static int32_t zlj_kc_n;
static zlmdb__plat_mutex zlj_kc_lock = ZLMDB__PLAT_MUTEX_INITIALIZER;

static inline uint64_t zlj_hash(const unsigned char *s, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ n, x;
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        memcpy(&x, s + i, 8);
        h = (h ^ x) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    if (i < n) {
        x = 0;
        memcpy(&x, s + i, n - i);
        h = (h ^ x) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    return h;
}

/* The key's number (made if new and there is room), or -1.  The caller
 * holds zlj_kc_lock. */
static int32_t zlj_key_id(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    uint64_t h;
    size_t i;

    if (n > ZLJ_KC_LEN)
        return -1;
    h = zlj_hash(s, n);
    for (i = (size_t)h & (ZLJ_KC_SLOTS - 1);; i = (i + 1) & (ZLJ_KC_SLOTS - 1)) {
        zlj_kslot *k = &zlj_kc[i];
        if (k->text == NULL) {
            unsigned char *t;
            if (zlj_kc_n >= ZLJ_KC_MAX)
                return -1;
            t = malloc(n ? n : 1);
            if (t == NULL)
                return -1;
            memcpy(t, s, n);
            k->h = h;
            k->len = (uint32_t)n;
            k->id = zlj_kc_n++;
            k->text = t;
            return k->id;
        }
        if (k->h == h && k->len == n && memcmp(k->text, s, n) == 0)
            return k->id;
    }
}

/* ============================================================ encode */

/* The op stream (python/zlmdb/_cffi/codec_json.py has the same numbers).
 * Values take the next entry of `ints` (STR and RAW: a length in
 * characters of the blob; INT, UINT: the value) or of `floats`.  With
 * ZLJ_KEY set the value is an object key: a STR is written as the key, any
 * other value as its text between quotes (json's key coercion); then ':'.
 * '[' '{' ']' '}' open and close; the commas are the writer's. */
enum {
    ZLJ_STR = 1,   /* a string, escaped */
    ZLJ_INT = 2,   /* int64 */
    ZLJ_UINT = 3,  /* the int64 entry read as uint64 */
    ZLJ_FLOAT = 4, /* a double as float.__repr__ */
    ZLJ_TRUE = 5,
    ZLJ_FALSE = 6,
    ZLJ_NULL = 7,
    ZLJ_RAW = 8,   /* text copied as it is: int.__repr__ of an int beyond 64 bits */
    ZLJ_KEY = 16
};

static ZLMDB__NOINLINE int zlj_grow(zlj_buf *b, size_t room)
{
    size_t need = b->len + room, cap = b->cap ? b->cap : 256;
    unsigned char *p;

    if (need < b->len)
        return -1;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    p = realloc(b->p, cap);
    if (p == NULL)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static inline int zlj_reserve(zlj_buf *b, size_t room)
{
    if (room <= b->cap - b->len)
        return 0;
    return zlj_grow(b, room);
}

/* The UTF-8 continuation bytes (10xxxxxx) of the word x, as a 0x80 mask:
 * bit 7 set and bit 6 (shifted into bit 7's place) clear. */
static inline uint64_t zlj_cont_mask(uint64_t x)
{
    return x & ~(x << 1) & 0x8080808080808080ULL;
}

static inline unsigned zlj_popcount(uint64_t m)
{
#if defined(__GNUC__)
    return (unsigned)__builtin_popcountll(m);
#else
    unsigned c = 0;
    for (; m; m &= m - 1)
        c++;
    return c;
#endif
}

/* The number of characters in n bytes of UTF-8 (generalized: a lone
 * surrogate is a 3-byte sequence): the bytes that are not continuations. */
static size_t zlj_chars(const unsigned char *s, size_t n)
{
    size_t i = 0, cont = 0;
    uint64_t x;

    for (; i + 8 <= n; i += 8) {
        memcpy(&x, s + i, 8);
        cont += zlj_popcount(zlj_cont_mask(x));
    }
    for (; i < n; i++)
        cont += (s[i] & 0xC0) == 0x80;
    return n - cont;
}

/* The bytes of the next `nchars` characters of UTF-8 (generalized) at s,
 * at most `avail`: up to the lead byte of the character after them.  Whole
 * words while they hold fewer leads than remain, then byte by byte (which
 * skips the continuation bytes a word boundary may have split off). */
static size_t zlj_span(const unsigned char *s, size_t avail, uint64_t nchars)
{
    size_t i = 0;
    uint64_t x;

    while (avail - i >= 8) {
        unsigned leads;
        memcpy(&x, s + i, 8);
        leads = 8 - zlj_popcount(zlj_cont_mask(x));
        if (leads >= nchars)
            break;
        nchars -= leads;
        i += 8;
    }
    for (; i < avail; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            if (nchars == 0)
                break;
            nchars--;
        }
    }
    return i;
}

/* A quoted, escaped string: the extension's put_escaped(). */
static int zlj_string(zlj_buf *b, const unsigned char *s, size_t n)
{
    unsigned char *end;
    size_t room;

    if (n <= 16) {
        if (zlj_reserve(b, 6 * 16 + 2) < 0)
            return -1;
        b->len = (size_t)(zlmdb__json_string(b->p + b->len, s, n,
                                             zlmdb__json_needs_escape(s, n)) - b->p);
        return 0;
    }
    if (zlj_reserve(b, n + 2) < 0)
        return -1;
    end = zlmdb__json_quote_if_plain(b->p + b->len, s, n);
    if (end != NULL) {
        b->len = (size_t)(end - b->p);
        return 0;
    }
    room = zlmdb__json_string_room(n, 1);
    if (room == SIZE_MAX || zlj_reserve(b, room) < 0)
        return -1;
    b->len = (size_t)(zlmdb__json_quote_escaped(b->p + b->len, s, n) - b->p);
    return 0;
}

/* Write the document the ops describe into the thread's output buffer:
 * res->p, res->n bytes, valid until zl_json_encode_done(res).  res->rc: 0;
 * 1 out of memory; 2 the ops and their data do not agree (a bug on the
 * Python side; nothing is read out of bounds).  NULL: no memory for the
 * thread's state. */
static const zl_jout *zl_json_encode(const unsigned char *ops, size_t nops, const char *blob,
                                     size_t nblob, int blob_ascii, const int64_t *ints,
                                     size_t nints, const double *floats, size_t nfloats)
{
    const unsigned char *bl = (const unsigned char *)blob;
    zlj_enc *st = zlj_enc_take();
    zlj_buf b;
    size_t i, bi = 0, ii = 0, fi = 0;
    int comma = 0, rc = 1;

    if (st == NULL)
        return NULL;
    if (st->out.cap > ZLJ_KEEP) {
        free(st->out.p);
        st->out.p = NULL;
        st->out.cap = 0;
    }
    b = st->out;
    b.len = 0;
    if (zlj_reserve(&b, nblob + 8 * nops + 64) < 0)
        goto fail;
    for (i = 0; i < nops; i++) {
        unsigned op = ops[i], base = op & (ZLJ_KEY - 1), key = op & ZLJ_KEY;
        unsigned char *p;

        if (op == ']' || op == '}') {
            if (zlj_reserve(&b, 1) < 0)
                goto fail;
            b.p[b.len++] = (unsigned char)op;
            comma = 1;
            continue;
        }
        /* a comma, quotes, colon and the longest number or literal */
        if (zlj_reserve(&b, 4 + ZLMDB_JSON_DOUBLE_MAX + ZLMDB__JSON_INT_MAX) < 0)
            goto fail;
        p = b.p + b.len;
        if (comma)
            *p++ = ',';
        if (op == '[' || op == '{') {
            *p++ = (unsigned char)op;
            b.len = (size_t)(p - b.p);
            comma = 0;
            continue;
        }
        if (key && base != ZLJ_STR)
            *p++ = '"';
        switch (base) {
        case ZLJ_STR:
        case ZLJ_RAW: {
            size_t n;
            if (ii >= nints || ints[ii] < 0) {
                rc = 2;
                goto fail;
            }
            n = blob_ascii ? (size_t)ints[ii] : zlj_span(bl + bi, nblob - bi, (uint64_t)ints[ii]);
            ii++;
            if (n > nblob - bi) {
                rc = 2;
                goto fail;
            }
            b.len = (size_t)(p - b.p);
            if (base == ZLJ_STR) {
                if (zlj_string(&b, bl + bi, n) < 0)
                    goto fail;
            } else {
                if (zlj_reserve(&b, n + 2) < 0)
                    goto fail;
                memcpy(b.p + b.len, bl + bi, n);
                b.len += n;
            }
            bi += n;
            if (zlj_reserve(&b, 2) < 0)
                goto fail;
            p = b.p + b.len;
            break;
        }
        case ZLJ_INT:
        case ZLJ_UINT:
            if (ii >= nints) {
                rc = 2;
                goto fail;
            }
            p = base == ZLJ_INT ? zlmdb__json_int(p, ints[ii]) : zlmdb__json_uint(p, (uint64_t)ints[ii]);
            ii++;
            break;
        case ZLJ_FLOAT:
            if (fi >= nfloats) {
                rc = 2;
                goto fail;
            }
            p += zlmdb_json_format_double(floats[fi++], (char *)p);
            break;
        case ZLJ_TRUE:
            p = zlmdb__json_literal(p, 1);
            break;
        case ZLJ_FALSE:
            p = zlmdb__json_literal(p, 0);
            break;
        case ZLJ_NULL:
            p = zlmdb__json_literal(p, 2);
            break;
        default:
            rc = 2;
            goto fail;
        }
        if (key) {
            if (base != ZLJ_STR)
                *p++ = '"';
            *p++ = ':';
            comma = 0;
        } else {
            comma = 1;
        }
        b.len = (size_t)(p - b.p);
    }
    rc = 0;
fail:
    st->out = b;
    st->res.p = (char *)b.p;
    st->res.n = rc == 0 ? b.len : 0;
    st->res.rc = rc;
    return &st->res;
}

/* ============================================================ decode */

static ZLMDB__NOINLINE int zlj_tape_grow(zl_jparse *o)
{
    size_t cap = o->cap ? o->cap * 2 : 64;
    zl_jtok *t;

    if (cap > SIZE_MAX / sizeof *t)
        return -1;
    t = realloc(o->tape, cap * sizeof *t);
    if (t == NULL)
        return -1;
    o->tape = t;
    o->cap = cap;
    return 0;
}

/* Append n bytes of UTF-8 to the arena and give the token their span in
 * characters. */
static inline int zlj_arena(zl_jparse *o, const char *s, size_t n, zl_jtok *t)
{
    size_t chars = n;

    if (n > o->arena_cap - o->arena_len) {
        size_t cap = o->arena_cap ? o->arena_cap : 1024;
        char *p;
        while (cap - o->arena_len < n) {
            if (cap > SIZE_MAX / 2)
                return -1;
            cap *= 2;
        }
        p = realloc(o->arena, cap);
        if (p == NULL)
            return -1;
        o->arena = p;
        o->arena_cap = cap;
    }
    memcpy(o->arena + o->arena_len, s, n);
    o->arena_len += n;
    if (!zlmdb__is_ascii((const unsigned char *)s, n))
        chars = zlj_chars((const unsigned char *)s, n);
    t->a = (int64_t)o->arena_chars;
    o->arena_chars += chars;
    t->b = (int64_t)o->arena_chars;
    return 0;
}

/* Append a long string to `big`; the token gets its byte offset and
 * length. */
static int zlj_big(zl_jparse *o, const char *s, size_t n, zl_jtok *t)
{
    if (n > o->big_cap - o->big_len) {
        size_t cap = o->big_cap ? o->big_cap : 4096;
        char *p;
        while (cap - o->big_len < n) {
            if (cap > SIZE_MAX / 2)
                return -1;
            cap *= 2;
        }
        p = realloc(o->big, cap);
        if (p == NULL)
            return -1;
        o->big = p;
        o->big_cap = cap;
    }
    memcpy(o->big + o->big_len, s, n);
    t->a = (int64_t)o->big_len;
    t->b = (int64_t)n;
    o->big_len += n;
    return 0;
}

/* A NUMBER item: ints up to 64 bits and floats by libzlmdb's readers
 * (zlmdb__json_int_value, zlmdb__json_double: exact fast routes, then the
 * C library's correctly rounded strtod, as in the extension); other texts
 * to Python. */
static int zlj_number(zl_jparse *o, const zlmdb_json_item *it, zl_jtok *t)
{
    if (!it->is_float) {
        int neg;
        uint64_t v;
        int ok = zlmdb__json_int_value(it->str, it->len, &neg, &v);

        if (ok && !neg) {
            t->kind = v <= (uint64_t)INT64_MAX ? ZLJT_INT : ZLJT_UINT;
            t->a = (int64_t)v;
            return 0;
        }
        if (ok && v <= (uint64_t)INT64_MAX + 1) {
            t->kind = ZLJT_INT;
            t->a = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
            return 0;
        }
        t->kind = ZLJT_BIGINT;
        return zlj_arena(o, it->str, it->len, t);
    }
    if (zlmdb__json_double(it->str, it->len, &t->f) == 0) {
        t->kind = ZLJT_FLOAT;
        return 0;
    }
    t->kind = ZLJT_FLOATTEXT;
    return zlj_arena(o, it->str, it->len, t);
}

/* 1 when json.loads' result for the UTF-8 text data[0..len) is the
 * codec's too, as far as the two can differ: the bytes are UTF-8 as the
 * reader takes it (no encoded surrogates, which PyPy's decoder lets
 * through) and no array or object nests deeper than the reader's limit
 * (PyPy's json.loads has none).  Anything else about the text is
 * json.loads' grammar on both sides.  0: the reader decides. */
static int zl_json_plain(const char *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data, *e = p + len;
    size_t depth = 0, bad;
    int ascii = 1;

    if (len <= ZLMDB_JSON_DEFAULT_MAX_DEPTH) {
        /* Nesting past the limit takes more opening brackets than this
         * text has bytes: only its UTF-8 is left to check, eight bytes at
         * a time while they are ASCII (a record's document, typically). */
        uint64_t high = 0, w;
        for (; e - p >= 8; p += 8) {
            memcpy(&w, p, 8);
            high |= w;
        }
        for (; p < e; p++)
            high |= *p;
        return !(high & 0x8080808080808080ull) ||
               zlmdb__utf8_check((const unsigned char *)data, len, &bad);
    }
    while (p < e) {
        unsigned char c = *p++;
        if (c == '"') {
            /* a string: to its closing quote, over escapes */
            for (; p < e && *p != '"'; p++) {
                if (*p == '\\' && ++p == e)
                    break;
                ascii &= *p < 0x80;
            }
            p++;
        } else if (c == '[' || c == '{') {
            if (++depth > ZLMDB_JSON_DEFAULT_MAX_DEPTH)
                return 0;
        } else if (c == ']' || c == '}') {
            depth -= depth > 0;
        } else {
            ascii &= c < 0x80;
        }
    }
    return ascii || zlmdb__utf8_check((const unsigned char *)data, len, &bad);
}

/* Read the whole document data[0..len) into the thread's zl_jparse,
 * valid until zl_json_parse_done(); its rc says how it went.  NULL: no
 * memory for the thread's state. */
static const zl_jparse *zl_json_parse(const char *data, size_t len)
{
    zlj_dec *st = zlj_dec_take();
    zl_jparse *o;
    zlmdb_json_reader r;
    zlmdb_json_item it;
    int64_t ka = 0, kb = 0;
    int32_t kid = -1;
    int rc, keys_locked;

    if (st == NULL)
        return NULL;
    o = &st->parse;
    if (o->cap * sizeof *o->tape > ZLJ_KEEP) {
        free(o->tape);
        o->tape = NULL;
        o->cap = 0;
    }
    if (o->arena_cap > ZLJ_KEEP) {
        free(o->arena);
        o->arena = NULL;
        o->arena_cap = 0;
    }
    if (o->big_cap > ZLJ_KEEP) {
        free(o->big);
        o->big = NULL;
        o->big_cap = 0;
    }
    o->n = o->arena_len = o->arena_chars = o->big_len = 0;
    o->arena_surrogates = 0;
    o->error_offset = o->error_chars = 0;
    o->error_open = 0;
    o->msg[0] = 0;
    keys_locked = zlmdb__plat_mutex_trylock(&zlj_kc_lock);
    zlmdb_json_reader_init(&r, data, len, ZLMDB_JSON_DEFAULT_MAX_DEPTH);
    for (;;) {
        zl_jtok *t;

        rc = zlmdb__json_next(&r, &it); /* zlmdb_json_reader_next(), inlined */
        if (rc != 0)
            break;
        if (o->n == o->cap && zlj_tape_grow(o) < 0) {
            rc = -1;
            break;
        }
        t = &o->tape[o->n];
        if (it.kind == ZLMDB_JSON_KEY) {
            /* into the arena now (the reader's copy lasts until its next
             * item); its span goes into the value's token */
            if (it.has_surrogates)
                o->arena_surrogates = 1;
            if (zlj_arena(o, it.str, it.len, t) < 0) {
                rc = -1;
                break;
            }
            ka = t->a;
            kb = t->b;
            kid = keys_locked ? zlj_key_id(it.str, it.len) : -1;
            continue;
        }
        t->a = t->b = 0;
        t->ka = ka;
        t->kb = kb;
        t->kid = kid;
        t->f = 0.0;
        switch (it.kind) {
        case ZLMDB_JSON_OBJECT_START:
            t->kind = ZLJT_OBJ;
            break;
        case ZLMDB_JSON_ARRAY_START:
            t->kind = ZLJT_ARR;
            break;
        case ZLMDB_JSON_OBJECT_END:
        case ZLMDB_JSON_ARRAY_END:
            t->kind = ZLJT_END;
            break;
        case ZLMDB_JSON_STRING:
            if (it.len >= ZLJ_BIG) {
                t->kind = it.has_surrogates ? ZLJT_BIGSTR_SUR : ZLJT_BIGSTR;
                if (zlj_big(o, it.str, it.len, t) < 0)
                    rc = -1;
                break;
            }
            t->kind = ZLJT_STR;
            if (it.has_surrogates)
                o->arena_surrogates = 1;
            if (zlj_arena(o, it.str, it.len, t) < 0)
                rc = -1;
            break;
        case ZLMDB_JSON_NUMBER:
            if (zlj_number(o, &it, t) < 0)
                rc = -1;
            break;
        case ZLMDB_JSON_TRUE:
            t->kind = ZLJT_TRUE;
            break;
        case ZLMDB_JSON_FALSE:
            t->kind = ZLJT_FALSE;
            break;
        case ZLMDB_JSON_NULL:
            t->kind = ZLJT_NULL;
            break;
        case ZLMDB_JSON_NAN:
            t->kind = ZLJT_FLOAT;
            t->f = NAN;
            break;
        case ZLMDB_JSON_INFINITY:
            t->kind = ZLJT_FLOAT;
            t->f = INFINITY;
            break;
        case ZLMDB_JSON_NEG_INFINITY:
            t->kind = ZLJT_FLOAT;
            t->f = -INFINITY;
            break;
        default: /* EOF before a value cannot happen: the reader says truncated */
            rc = -1;
            break;
        }
        if (rc != 0)
            break;
        o->n++;
        if (it.done)
            break;
    }
    if (rc == 0)
        rc = zlmdb_json_reader_finish(&r);
    if (rc > 0 || rc < -1) {
        const char *msg = zlmdb_error_last();
        size_t off = r.error_offset, chars;

        snprintf(o->msg, sizeof o->msg, "%s", msg ? msg : zlmdb_strerror(rc));
        if (off > len)
            off = len;
        chars = zlj_chars((const unsigned char *)data, off);
        o->error_offset = off;
        o->error_chars = chars;
        o->error_open = r.stack.size ? r.stack.ptr[r.stack.size - 1] : 0;
    }
    if (keys_locked)
        zlmdb__plat_mutex_unlock(&zlj_kc_lock);
    zlmdb_json_reader_dispose(&r);
    o->rc = rc;
    return o;
}
