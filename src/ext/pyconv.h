/* The codec bridge (pyconv*.c): Python objects <-> libzlmdb's CBOR, JSON and
 * key encodings.  Its cached Python objects live in the module state.
 *
 *   pyconv.c       state, output buffer, shared helpers, CBOR encode/decode
 *   pyconv_json.c  JSON encode/decode
 *   pyconv_key.c   the KeyCodec type (order-preserving keys)
 */
#ifndef ZPY_PYCONV_H
#define ZPY_PYCONV_H

#include <Python.h>

#include "zlmdb.h"
#include "codec_int.h"

#define ZPY_KEYCACHE_SIZE 1024   /**< a power of two */
#define ZPY_KEYCACHE_MAXLEN 32   /**< longer keys are not cached */

/* Objects the bridge looks up once per module (types to test against,
 * constructors to call).  Every field is a strong reference or NULL. */
typedef struct {
    /* stdlib, looked up at module init */
    PyObject *UUID;              /**< uuid.UUID */
    PyObject *safe_unknown;      /**< uuid.SafeUUID.unknown */
    PyObject *Decimal;           /**< decimal.Decimal */
    PyObject *dt_fromisoformat;  /**< datetime.datetime.fromisoformat */
    PyObject *date_fromisoformat;/**< datetime.date.fromisoformat */
    PyObject *date_fromordinal;  /**< datetime.date.fromordinal */
    PyObject *utc;               /**< datetime.timezone.utc */
    PyObject *int64;             /**< the int 64, for UUID.int >> 64 */
    PyObject *tz_last;           /**< the last fixed-offset timezone decoded */
    int tz_last_minutes;         /**< its offset, in minutes east of UTC */
    Py_ssize_t uuid_int_off;     /**< UUID's `int` slot offset, or 0: use setattr */
    Py_ssize_t uuid_safe_off;    /**< UUID's `is_safe` slot offset, or 0 */
    /* interned names */
    PyObject *s_int, *s_is_safe, *s_isoformat, *s_utcoffset, *s_as_tuple, *s_tag, *s_value;
    /* from zlmdb.codec, via _codec_setup() (NULL until then) */
    PyObject *CBORTag;           /**< zlmdb.codec.CBORTag */
    PyObject *CBORSimpleValue;   /**< zlmdb.codec.CBORSimpleValue */
    PyObject *undefined;         /**< zlmdb.codec.undefined */
    PyObject *CBORDecodeError;   /**< zlmdb.codec.CBORDecodeError */
    PyObject *JSONDecodeError;   /**< json.JSONDecodeError */
    PyObject *json_loads;        /**< json.loads (fallback for odd str input) */
    /* numpy, imported on first use: NULL = not tried, Py_None = absent */
    PyObject *numpy;
    PyObject *np_datetime64;     /**< numpy.datetime64 */
    PyObject *KeyCodecType;      /**< zlmdb._native.KeyCodec */
    int dict_layout;             /**< zpy_dict_next may read dicts' tables itself */
    int u128_layout;             /**< UUID ints are read and made from their digits */
    size_t json_out_hint;        /**< zpy_obuf.hint for the next JSON encode */
    size_t cbor_out_hint;        /**< the same for CBOR */
    /** Decoded map keys, reused across calls (like orjson's key cache):
     *  short ASCII str objects with their hash computed, direct-mapped by
     *  a multiplicative hash of the first and last 8 bytes and the length
     *  (zpy_key_str).  Strings cannot form reference cycles, so traverse
     *  skips them; clear releases them. */
    PyObject *keycache[ZPY_KEYCACHE_SIZE];
} zpy_codec_state;

struct zpy_state_s;

/* Module functions of the bridge (added to zlmdb._native). */
extern PyMethodDef zpy_codec_methods[];

int zpy_codec_init(PyObject *module, zpy_codec_state *cs);
int zpy_codec_traverse(zpy_codec_state *cs, visitproc visit, void *arg);
void zpy_codec_clear(zpy_codec_state *cs);

/* ------------------------------------------------ shared inside pyconv* */

/* A dict's keys table as CPython 3.11 to 3.13 lay it out (pycore_dict.h;
 * the same in the three, free-threaded builds aside).  The encoders walk
 * it directly: PyDict_Next, a call that re-checks the dict's kind and
 * its split table per item, was 15% of a large JSON encode.
 * zpy_dict_layout_check() compares the walk with PyDict_Next at module
 * init and turns it off when they differ. */
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030E0000 && !defined(Py_GIL_DISABLED)
#  define ZPY_DICT_LAYOUT 1
typedef struct {
    Py_ssize_t dk_refcnt;
    uint8_t dk_log2_size;
    uint8_t dk_log2_index_bytes;
    uint8_t dk_kind;             /**< 0: general keys; else str keys (1) or split (2) */
    uint32_t dk_version;
    Py_ssize_t dk_usable;
    Py_ssize_t dk_nentries;      /**< entries in use or deleted, in order */
    char dk_indices[];           /**< hash index, then the entries */
} zpy_dictkeys;
typedef struct { PyObject *key, *value; } zpy_dict_uentry;
typedef struct { Py_hash_t hash; PyObject *key, *value; } zpy_dict_entry;
#endif

/* PyDict_Next(o, pos, k, v) with its results (borrowed references) and
 * its order.  Like PyDict_Next it reads the table afresh at every step,
 * since a default hook may grow the dict between two steps; split tables
 * (instance dicts) go to PyDict_Next. */
static inline int zpy_dict_next(const zpy_codec_state *cs, PyObject *o, Py_ssize_t *pos,
                                PyObject **k, PyObject **v)
{
#ifdef ZPY_DICT_LAYOUT
    const PyDictObject *mp = (const PyDictObject *)o;
    if (cs->dict_layout && mp->ma_values == NULL) {
        const zpy_dictkeys *dk = (const zpy_dictkeys *)(const void *)mp->ma_keys;
        const char *ents = dk->dk_indices + ((size_t)1 << dk->dk_log2_index_bytes);
        Py_ssize_t i = *pos, n = dk->dk_nentries;
        if (i < 0)
            return 0;
        if (dk->dk_kind != 0) {
            const zpy_dict_uentry *e = (const zpy_dict_uentry *)(const void *)ents;
            while (i < n && e[i].value == NULL)
                i++;
            if (i >= n)
                return 0;
            *k = e[i].key;
            *v = e[i].value;
        } else {
            const zpy_dict_entry *e = (const zpy_dict_entry *)(const void *)ents;
            while (i < n && e[i].value == NULL)
                i++;
            if (i >= n)
                return 0;
            *k = e[i].key;
            *v = e[i].value;
        }
        *pos = i + 1;
        return 1;
    }
#else
    (void)cs;
#endif
    return PyDict_Next(o, pos, k, v);
}

/* Set cs->dict_layout when zpy_dict_next() reads the tables as
 * PyDict_Next does (str and general keys, with deleted entries); 0, or
 * -1 with an exception (out of memory). */
int zpy_dict_layout_check(zpy_codec_state *cs);

/* Nesting limit of the encoders (containers open at once, default hook
 * results included) and of the readers. */
#define ZPY_CODEC_MAX_DEPTH 1000

/* Output buffer: starts in `inl`; when it grows, it moves into a bytes
 * object (`bytes`, grown in place by _PyBytes_Resize), so a bytes result
 * is that object shrunk to size (zpy_obuf_take_bytes), not a copy.
 * `hint` is the first size of that object: the encoders pass the size of
 * their previous output that outgrew `inl` (zpy_obuf_learn), so a run of
 * large documents of similar size allocates once per document instead of
 * doubling (and copying) a dozen times. */
typedef struct {
    unsigned char *p;
    size_t len, cap;
    size_t hint;
    PyObject *bytes;
    unsigned char inl[512];
} zpy_obuf;

/** The largest hint: a bigger document still doubles its way up, but one
 *  huge output does not make every later one reserve as much. */
#define ZPY_OBUF_HINT_MAX ((size_t)64 << 20)

/* Reserve `extra` more bytes; 0, or -1 with MemoryError. */
int zpy_obuf_grow(zpy_obuf *b, size_t extra);
static inline int zpy_obuf_reserve(zpy_obuf *b, size_t extra)
{
    if (extra <= b->cap - b->len)
        return 0;
    return zpy_obuf_grow(b, extra);
}
static inline void zpy_obuf_init(zpy_obuf *b)
{
    b->p = b->inl;
    b->len = 0;
    b->cap = sizeof(b->inl);
    b->hint = 0;
    b->bytes = NULL;
}
/* After an encode into b: the hint for the next one (its size and a
 * quarter more, so a slightly larger document fits too), or 0 when the
 * output stayed inline. */
static inline void zpy_obuf_learn(const zpy_obuf *b, size_t *hint)
{
    if (b->bytes == NULL)
        *hint = 0;
    else
        *hint = b->len < ZPY_OBUF_HINT_MAX ? b->len + b->len / 4 : ZPY_OBUF_HINT_MAX;
}
static inline void zpy_obuf_free(zpy_obuf *b)
{
    Py_CLEAR(b->bytes);
    b->p = b->inl;
    b->len = 0;
    b->cap = sizeof(b->inl);
}
/* The contents as a new bytes object; the buffer is left empty. */
PyObject *zpy_obuf_take_bytes(zpy_obuf *b);

/* The bridge's state from a module function's `self` (the module); makes
 * sure zlmdb.codec has been imported (it registers its classes). */
zpy_codec_state *zpy_codec_ready(PyObject *module);
/* numpy or NULL when it cannot be imported (no exception set). */
PyObject *zpy_codec_numpy(zpy_codec_state *cs);
/* The int of 16 big-endian bytes (a UUID's): from its digits when the
 * layout check at init passed, else through CPython's conversion. */
PyObject *zpy_u128_from_be(zpy_codec_state *cs, const unsigned char b[16]);
/* The one form cbor2 writes for an aware datetime (tag 0's text), read
 * without a Python call: YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+HH:MM|-HH:MM).
 * Returns 1 with a new datetime in *out, 0 when the text has another form
 * (datetime.fromisoformat decides), -1 with an exception for a value out of
 * range (as fromisoformat's). */
int zpy_rfc3339_datetime(zpy_codec_state *cs, const char *p, size_t n, PyObject **out);
/* The key cache's miss: the str for p[0..n), stored in *slot when ASCII. */
PyObject *zpy_key_str_fill(PyObject **slot, const char *p, size_t n);
/* A str from UTF-8 that libzlmdb's reader has already validated and that
 * is not all ASCII (its kind from its largest code point). */
PyObject *zpy_str_from_checked_utf8(const unsigned char *p, size_t n);

/* A str from UTF-8 that libzlmdb's reader has already validated.  ASCII,
 * the common case, needs no decoding: a copy, inline for short text. */
static inline PyObject *zpy_str_from_valid_utf8(const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    PyObject *s;

    if (!zlmdb__is_ascii(u, n))
        return zpy_str_from_checked_utf8(u, n);
    s = PyUnicode_New((Py_ssize_t)n, 127);
    if (s != NULL) {
        if (n <= 16)
            zlmdb__copy_short(PyUnicode_DATA(s), u, n);
        else
            memcpy(PyUnicode_DATA(s), u, n);
    }
    return s;
}

/* a[0..n) == b[0..n) for short n (keys), with word loads instead of a
 * memcmp call: the last word overlaps, as in the hash. */
static inline int zpy_short_equal(const char *a, const char *b, size_t n)
{
    uint64_t x, y, diff = 0;
    size_t i;

    if (n >= 8) {
        for (i = 0; i + 8 < n; i += 8) {
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            diff |= x ^ y;
        }
        memcpy(&x, a + n - 8, 8);
        memcpy(&y, b + n - 8, 8);
        return (diff | (x ^ y)) == 0;
    }
    if (n >= 4) {
        uint32_t u, v, s, t;
        memcpy(&u, a, 4);
        memcpy(&v, b, 4);
        memcpy(&s, a + n - 4, 4);
        memcpy(&t, b + n - 4, 4);
        return ((u ^ v) | (s ^ t)) == 0;
    }
    for (i = 0; i < n; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

/* A str for a map key (valid UTF-8), through the key cache: a hit is a
 * hash of at most two words and a compare, inlined into the decode loops;
 * a miss makes the str (and caches it when it is ASCII). */
static inline PyObject *zpy_key_str(zpy_codec_state *cs, const char *p, size_t n)
{
    uint64_t a = 0, b = 0, h;
    PyObject **slot, *s;

    if (n > ZPY_KEYCACHE_MAXLEN)
        return zpy_str_from_valid_utf8(p, n);
    /* A cheap hash of the first and last 8 bytes and the length; the
     * memcmp below decides. */
    if (n >= 8) {
        memcpy(&a, p, 8);
        memcpy(&b, p + n - 8, 8);
    } else if (n >= 4) {
        uint32_t lo, hi; /* two overlapping loads, as wyhash does */
        memcpy(&lo, p, 4);
        memcpy(&hi, p + n - 4, 4);
        a = ((uint64_t)hi << 32) | lo;
    } else if (n > 0) {
        const unsigned char *u = (const unsigned char *)p;
        a = ((uint64_t)u[0] << 16) | ((uint64_t)u[n >> 1] << 8) | u[n - 1];
    }
    h = (a * 0x9E3779B97F4A7C15ULL) ^ ((b + n) * 0xC2B2AE3D27D4EB4FULL);
    h ^= h >> 29;
    slot = &cs->keycache[(h * 0x165667B19E3779F9ULL >> 40) & (ZPY_KEYCACHE_SIZE - 1)];
    s = *slot;
    /* Cached strings are ASCII, so their data is their UTF-8. */
    if (s != NULL && (size_t)PyUnicode_GET_LENGTH(s) == n &&
        zpy_short_equal(PyUnicode_DATA(s), p, n))
        return Py_NewRef(s);
    return zpy_key_str_fill(slot, p, n);
}

/* -1, 0 or 1: the sign of an int (CPython 3.14 made this public). */
static inline int zpy_long_sign(PyObject *v)
{
#if PY_VERSION_HEX >= 0x030E0000
    int sign = 0;
    (void)PyLong_GetSign(v, &sign);
    return sign;
#else
    return _PyLong_Sign(v);
#endif
}

/* A type's __name__ (tp_name after its last dot), for messages. */
static inline const char *zpy_type_name(PyTypeObject *tp)
{
    const char *dot = strrchr(tp->tp_name, '.');
    return dot ? dot + 1 : tp->tp_name;
}

/* A dict with room for n items (n already bounded by the input size). */
PyObject *zpy_dict_presized(Py_ssize_t n);
/* UUID <-> 16 bytes without going through Python-level properties. */
int zpy_uuid_to_bytes(zpy_codec_state *cs, PyObject *u, unsigned char out[16]);
PyObject *zpy_uuid_from_bytes(zpy_codec_state *cs, const unsigned char b[16]);
/* Borrow the bytes of a bytes-like object: bytes fast path, else a
 * buffer view to release with PyBuffer_Release when view->obj != NULL. */
int zpy_get_input(PyObject *obj, Py_buffer *view, const char *what);

/* pyconv_json.c */
PyObject *zpy_json_dumps(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames);
PyObject *zpy_json_dumpb(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames);
PyObject *zpy_json_loads(PyObject *module, PyObject *arg);
PyObject *zpy_json_loads_pull(PyObject *module, PyObject *arg);
/* A JSON number item as json.loads makes it (pyconv_json.c). */
PyObject *zpy_json_number(const zlmdb_json_item *it);

/* pyconv_key.c */
int zpy_key_init(PyObject *module, zpy_codec_state *cs);
/* For the persistent map: append the encoding of `key` under `codec` (a
 * KeyCodec) to `out`, 0 or -1 with an exception; and decode key bytes. */
int zpy_keycodec_encode(PyObject *codec, PyObject *key, unsigned flags, int prefix,
                        zlmdb_buf *out);
PyObject *zpy_keycodec_decode(PyObject *codec, const void *data, size_t len);

#endif
