/* Order-preserving key encodings, driven by a descriptor.
 *
 * One generic codec replaces upstream's 80-odd key mixins: a descriptor
 * lists the component types and the codec walks it.  Fixed-width parts are
 * big-endian so memcmp order equals numeric order; a string has neither
 * length nor terminator (upstream's format), which is why at most one may
 * appear and why it is decoded from what the fixed parts leave over. */
#include <string.h>

#include "common_int.h"

/* Encoded width of a fixed component; 0 for a string. */
static size_t comp_width(zlmdb_key_type t)
{
    switch (t) {
    case ZLMDB_KEY_UINT8: return 1;
    case ZLMDB_KEY_UINT16:
    case ZLMDB_KEY_UINT16LE: return 2;
    case ZLMDB_KEY_UINT32: return 4;
    case ZLMDB_KEY_UINT64:
    case ZLMDB_KEY_OID:
    case ZLMDB_KEY_TIMESTAMP: return 8;
    case ZLMDB_KEY_UUID:
    case ZLMDB_KEY_BYTES16: return 16;
    case ZLMDB_KEY_BYTES20: return 20;
    case ZLMDB_KEY_BYTES32: return 32;
    default: return 0;
    }
}

static const char *type_name(zlmdb_key_type t)
{
    switch (t) {
    case ZLMDB_KEY_UINT8: return "uint8";
    case ZLMDB_KEY_UINT16: return "uint16";
    case ZLMDB_KEY_UINT16LE: return "uint16le";
    case ZLMDB_KEY_UINT32: return "uint32";
    case ZLMDB_KEY_UINT64: return "uint64";
    case ZLMDB_KEY_OID: return "oid";
    case ZLMDB_KEY_UUID: return "uuid";
    case ZLMDB_KEY_TIMESTAMP: return "timestamp";
    case ZLMDB_KEY_BYTES16: return "bytes16";
    case ZLMDB_KEY_BYTES20: return "bytes20";
    case ZLMDB_KEY_BYTES32: return "bytes32";
    case ZLMDB_KEY_STRING: return "string";
    default: return "?";
    }
}

static int valid_type(int t)
{
    return t >= ZLMDB_KEY_UINT8 && t <= ZLMDB_KEY_STRING;
}

/* The NUL-separated layout is implied by "2 or 3 strings": no other valid
 * descriptor has two strings, so no flag is needed to tell them apart. */
static int is_nulsep(const zlmdb_key_desc *desc)
{
    unsigned i;

    if (desc->ncomp < 2 || desc->ncomp > 3)
        return 0;
    for (i = 0; i < desc->ncomp; i++)
        if (desc->comp[i] != ZLMDB_KEY_STRING)
            return 0;
    return 1;
}

int zlmdb_key_desc_check(const zlmdb_key_desc *desc)
{
    unsigned i, nstr = 0;

    if (desc == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "key descriptor is NULL");
    if (desc->ncomp < 1 || desc->ncomp > ZLMDB_KEY_MAX_COMPONENTS)
        return zlmdb__error_set(ZLMDB_EINVAL, "key descriptor has %u components (1..%d)",
                                desc->ncomp, ZLMDB_KEY_MAX_COMPONENTS);
    for (i = 0; i < desc->ncomp; i++) {
        if (!valid_type((int)desc->comp[i]))
            return zlmdb__error_set(ZLMDB_EINVAL, "key component %u has unknown type %d", i,
                                    (int)desc->comp[i]);
        if (desc->comp[i] == ZLMDB_KEY_STRING)
            nstr++;
    }
    if (nstr > 1 && !is_nulsep(desc))
        return zlmdb__error_set(ZLMDB_EINVAL,
                                "key descriptor has %u strings; only one, or 2-3 strings alone",
                                nstr);
    return ZLMDB_OK;
}

int zlmdb_key_fixed_size(const zlmdb_key_desc *desc, size_t *size_out)
{
    unsigned i;
    size_t total = 0;
    int rc = zlmdb_key_desc_check(desc);

    if (rc)
        return rc;
    if (size_out == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "size_out is NULL");
    for (i = 0; i < desc->ncomp; i++) {
        size_t w = comp_width(desc->comp[i]);
        if (w == 0) {
            *size_out = ZLMDB_KEY_VARIABLE;
            return ZLMDB_OK;
        }
        total += w;
    }
    *size_out = total;
    return ZLMDB_OK;
}

static void put_be(unsigned char *p, uint64_t v, size_t w)
{
    size_t i;

    for (i = 0; i < w; i++)
        p[w - 1 - i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_be(const unsigned char *p, size_t w)
{
    uint64_t v = 0;
    size_t i;

    for (i = 0; i < w; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Encode one component into `out`; `sep` is set for the NUL-separated
 * layout, where strings must not hold the separator. */
static int encode_comp(zlmdb_key_type t, const zlmdb_key_value *v, unsigned idx,
                       unsigned flags, int sep, zlmdb_buf *out)
{
    unsigned char tmp[8];
    size_t w = comp_width(t);
    uint64_t limit;

    if (v->is_null) {
        if (!(flags & ZLMDB_KEY_NULL_AS_ZERO))
            return zlmdb__error_set(ZLMDB_KEY_TYPE, "key component %u (%s) is null", idx,
                                    type_name(t));
        if (w == 0)
            return ZLMDB_OK; /* the empty string */
        if (zlmdb_buf_reserve(out, w))
            return ZLMDB_ENOMEM;
        memset(out->ptr + out->size, 0, w);
        out->size += w;
        out->ptr[out->size] = 0;
        return ZLMDB_OK;
    }
    switch (t) {
    case ZLMDB_KEY_UINT8:
    case ZLMDB_KEY_UINT16:
    case ZLMDB_KEY_UINT16LE:
    case ZLMDB_KEY_UINT32:
    case ZLMDB_KEY_UINT64:
    case ZLMDB_KEY_OID:
        limit = w == 8 ? UINT64_MAX : ((uint64_t)1 << (8 * w)) - 1;
        if (t == ZLMDB_KEY_OID && !(flags & ZLMDB_KEY_LENIENT))
            limit = ZLMDB_KEY_OID_MAX;
        if (v->u > limit)
            return zlmdb__error_set(ZLMDB_KEY_RANGE,
                                    "key component %u (%s): %llu is above %llu", idx,
                                    type_name(t), (unsigned long long)v->u,
                                    (unsigned long long)limit);
        if (t == ZLMDB_KEY_UINT16LE) {
            tmp[0] = (unsigned char)v->u;
            tmp[1] = (unsigned char)(v->u >> 8);
        } else {
            put_be(tmp, v->u, w);
        }
        return zlmdb_buf_append(out, tmp, w);
    case ZLMDB_KEY_TIMESTAMP:
        /* Big-endian two's complement puts pre-1970 values after all later
         * ones; refusing them keeps key order equal to time order. */
        if (v->i < 0 && !(flags & ZLMDB_KEY_LENIENT))
            return zlmdb__error_set(ZLMDB_KEY_RANGE,
                                    "key component %u (timestamp): %lld ns is before 1970, "
                                    "which would not sort in time order",
                                    idx, (long long)v->i);
        put_be(tmp, (uint64_t)v->i, 8);
        return zlmdb_buf_append(out, tmp, 8);
    case ZLMDB_KEY_UUID:
    case ZLMDB_KEY_BYTES16:
    case ZLMDB_KEY_BYTES20:
    case ZLMDB_KEY_BYTES32:
        if (v->len != w || v->data == NULL)
            return zlmdb__error_set(ZLMDB_KEY_TYPE,
                                    "key component %u (%s) must be %zu bytes, got %zu", idx,
                                    type_name(t), w, v->data ? v->len : 0);
        return zlmdb_buf_append(out, v->data, w);
    case ZLMDB_KEY_STRING: {
        size_t bad;
        if (v->data == NULL && v->len)
            return zlmdb__error_set(ZLMDB_EINVAL, "key component %u (string) has no data",
                                    idx);
        if (v->len && !zlmdb__utf8_check(v->data, v->len, &bad))
            return zlmdb__error_set(ZLMDB_KEY_TYPE,
                                    "key component %u (string) is not UTF-8 at byte %zu", idx,
                                    bad);
        if (sep && v->len && memchr(v->data, 0, v->len))
            return zlmdb__error_set(ZLMDB_KEY_RANGE,
                                    "key component %u (string) contains NUL, which separates "
                                    "the strings of this key",
                                    idx);
        return zlmdb_buf_append(out, v->data, v->len);
    }
    }
    return zlmdb__error_set(ZLMDB_EINVAL, "key component %u has unknown type", idx);
}

static int encode_k(const zlmdb_key_desc *desc, const zlmdb_key_value *vals, unsigned k,
                    unsigned flags, zlmdb_buf *out, int prefix)
{
    size_t start;
    unsigned i;
    int rc, sep;

    rc = zlmdb_key_desc_check(desc);
    if (rc)
        return rc;
    if (out == NULL || (vals == NULL && k > 0))
        return zlmdb__error_set(ZLMDB_EINVAL, "key encode: NULL argument");
    if (k > desc->ncomp)
        return zlmdb__error_set(ZLMDB_EINVAL, "key prefix of %u components, layout has %u", k,
                                desc->ncomp);
    sep = is_nulsep(desc);
    if (prefix && !sep && k > 0 && k < desc->ncomp && desc->comp[k - 1] == ZLMDB_KEY_STRING)
        return zlmdb__error_set(ZLMDB_EINVAL,
                                "a key prefix cannot end with a string that fixed-width "
                                "components follow");
    start = out->size;
    for (i = 0; i < k; i++) {
        rc = encode_comp(desc->comp[i], &vals[i], i, flags, sep, out);
        if (rc == 0 && sep && (i + 1 < desc->ncomp) && (i + 1 < k || prefix))
            rc = zlmdb_buf_append(out, "", 1);
        if (rc) {
            out->size = start;
            if (out->asize)
                out->ptr[start] = 0;
            return rc;
        }
    }
    return ZLMDB_OK;
}

int zlmdb_key_encode(const zlmdb_key_desc *desc, const zlmdb_key_value *vals, unsigned flags,
                     zlmdb_buf *out)
{
    if (desc == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "key descriptor is NULL");
    return encode_k(desc, vals, desc->ncomp, flags, out, 0);
}

int zlmdb_key_encode_prefix(const zlmdb_key_desc *desc, const zlmdb_key_value *vals,
                            unsigned k, unsigned flags, zlmdb_buf *out)
{
    if (desc == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "key descriptor is NULL");
    /* A complete prefix is the key itself: no trailing separator. */
    return encode_k(desc, vals, k, flags, out, k < desc->ncomp);
}

static void decode_fixed(zlmdb_key_type t, const unsigned char *p, zlmdb_key_value *v)
{
    size_t w = comp_width(t);

    memset(v, 0, sizeof(*v));
    switch (t) {
    case ZLMDB_KEY_UINT16LE:
        v->u = (uint64_t)p[0] | ((uint64_t)p[1] << 8);
        break;
    case ZLMDB_KEY_TIMESTAMP:
        /* Two's complement reinterpretation, done without signed overflow. */
        {
            uint64_t u = get_be(p, 8);
            v->i = u <= (uint64_t)INT64_MAX ? (int64_t)u
                                            : -(int64_t)(~u) - 1;
        }
        break;
    case ZLMDB_KEY_UUID:
    case ZLMDB_KEY_BYTES16:
    case ZLMDB_KEY_BYTES20:
    case ZLMDB_KEY_BYTES32:
        v->data = p;
        v->len = w;
        break;
    default:
        v->u = get_be(p, w);
        break;
    }
}

static int decode_nulsep(const zlmdb_key_desc *desc, const unsigned char *p, size_t len,
                         zlmdb_key_value *vals)
{
    size_t pos = 0, bad;
    unsigned i;

    for (i = 0; i < desc->ncomp; i++) {
        const unsigned char *end;
        size_t n;

        memset(&vals[i], 0, sizeof(vals[i]));
        if (i + 1 < desc->ncomp) {
            end = memchr(p + pos, 0, len - pos);
            if (end == NULL)
                return zlmdb__error_set(ZLMDB_TRUNCATED,
                                        "key: separator after string %u missing", i);
            n = (size_t)(end - (p + pos));
        } else {
            n = len - pos;
            if (n && memchr(p + pos, 0, n))
                return zlmdb__error_set(ZLMDB_DECODE,
                                        "key: %u strings expected, more separators found",
                                        desc->ncomp);
        }
        if (n && !zlmdb__utf8_check(p + pos, n, &bad))
            return zlmdb__error_set(ZLMDB_DECODE, "key: string %u is not UTF-8 at byte %zu",
                                    i, pos + bad);
        vals[i].data = p + pos;
        vals[i].len = n;
        pos += n + 1;
    }
    return ZLMDB_OK;
}

int zlmdb_key_decode(const zlmdb_key_desc *desc, const void *data, size_t len,
                     zlmdb_key_value *vals_out)
{
    const unsigned char *p = data;
    size_t fixed = 0, pos = 0, bad;
    unsigned i, s = ZLMDB_KEY_MAX_COMPONENTS;
    int rc = zlmdb_key_desc_check(desc);

    if (rc)
        return rc;
    if (vals_out == NULL || (data == NULL && len))
        return zlmdb__error_set(ZLMDB_EINVAL, "key decode: NULL argument");
    if (p == NULL)
        p = (const unsigned char *)""; /* no arithmetic on a null pointer */
    if (is_nulsep(desc))
        return decode_nulsep(desc, p, len, vals_out);
    for (i = 0; i < desc->ncomp; i++) {
        if (desc->comp[i] == ZLMDB_KEY_STRING)
            s = i;
        else
            fixed += comp_width(desc->comp[i]);
    }
    if (len < fixed)
        return zlmdb__error_set(ZLMDB_TRUNCATED, "key has %zu bytes, layout needs %s%zu", len,
                                s < ZLMDB_KEY_MAX_COMPONENTS ? "at least " : "", fixed);
    if (s == ZLMDB_KEY_MAX_COMPONENTS && len > fixed)
        return zlmdb__error_set(ZLMDB_DECODE, "key has %zu bytes, layout needs %zu (%zu trailing)",
                                len, fixed, len - fixed);
    for (i = 0; i < desc->ncomp; i++) {
        if (i == s) {
            /* The string takes whatever the fixed parts leave; `len - fixed`
             * cannot underflow, checked above. */
            size_t n = len - fixed;
            memset(&vals_out[i], 0, sizeof(vals_out[i]));
            if (n && !zlmdb__utf8_check(p + pos, n, &bad))
                return zlmdb__error_set(ZLMDB_DECODE, "key: string is not UTF-8 at byte %zu",
                                        pos + bad);
            vals_out[i].data = p + pos;
            vals_out[i].len = n;
            pos += n;
        } else {
            decode_fixed(desc->comp[i], p + pos, &vals_out[i]);
            pos += comp_width(desc->comp[i]);
        }
    }
    return ZLMDB_OK;
}

int zlmdb_key_encode_slot(uint16_t slot, zlmdb_buf *out)
{
    unsigned char b[2];

    b[0] = (unsigned char)(slot >> 8);
    b[1] = (unsigned char)slot;
    return zlmdb_buf_append(out, b, 2);
}

int zlmdb_key_decode_slot(const void *data, size_t len, uint16_t *slot_out)
{
    const unsigned char *p = data;

    if ((data == NULL && len) || slot_out == NULL)
        return zlmdb__error_set(ZLMDB_EINVAL, "slot decode: NULL argument");
    if (len < 2)
        return zlmdb__error_set(ZLMDB_TRUNCATED, "key of %zu bytes has no 2-byte slot prefix",
                                len);
    *slot_out = (uint16_t)((p[0] << 8) | p[1]);
    return ZLMDB_OK;
}
