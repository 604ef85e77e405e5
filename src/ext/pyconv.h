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
    /** Decoded map keys, reused across calls (like orjson's key cache):
     *  short ASCII str objects with their hash computed, direct-mapped by
     *  an FNV-1a hash of the bytes.  Strings cannot form reference cycles,
     *  so traverse skips them; clear releases them. */
    PyObject *keycache[ZPY_KEYCACHE_SIZE];
} zpy_codec_state;

struct zpy_state_s;

/* Module functions of the bridge (added to zlmdb._native). */
extern PyMethodDef zpy_codec_methods[];

int zpy_codec_init(PyObject *module, zpy_codec_state *cs);
int zpy_codec_traverse(zpy_codec_state *cs, visitproc visit, void *arg);
void zpy_codec_clear(zpy_codec_state *cs);

/* ------------------------------------------------ shared inside pyconv* */

/* Nesting limit of the encoders (containers open at once, default hook
 * results included) and of the readers. */
#define ZPY_CODEC_MAX_DEPTH 1000

/* Output buffer: starts in `inl`; when it grows, it moves into a bytes
 * object (`bytes`, grown in place by _PyBytes_Resize), so a bytes result
 * is that object shrunk to size (zpy_obuf_take_bytes), not a copy. */
typedef struct {
    unsigned char *p;
    size_t len, cap;
    PyObject *bytes;
    unsigned char inl[512];
} zpy_obuf;

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
    b->bytes = NULL;
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
/* A str for a map key (valid UTF-8), through the key cache. */
PyObject *zpy_key_str(zpy_codec_state *cs, const char *p, size_t n);
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

/* A str from UTF-8 that libzlmdb's reader has already validated. */
PyObject *zpy_str_from_valid_utf8(const char *p, size_t n);
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

/* pyconv_key.c */
int zpy_key_init(PyObject *module, zpy_codec_state *cs);
/* For the persistent map: append the encoding of `key` under `codec` (a
 * KeyCodec) to `out`, 0 or -1 with an exception; and decode key bytes. */
int zpy_keycodec_encode(PyObject *codec, PyObject *key, unsigned flags, int prefix,
                        zlmdb_buf *out);
PyObject *zpy_keycodec_decode(PyObject *codec, const void *data, size_t len);

#endif
