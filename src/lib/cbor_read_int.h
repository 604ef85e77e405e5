/* libzlmdb's CBOR pull reader, inline: cbor.c's zlmdb_cbor_reader_next()
 * is zlmdb__cbor_next(), and the CPython extension's cbor_loads calls the
 * same function inlined into its loop (one reader, no call per item).
 * Not installed.
 *
 * The input is attacker-controlled (a corrupt or hostile database value):
 * every length is checked against the bytes that remain before it is used,
 * nesting lives on an explicit, depth-limited stack, and a count that the
 * rest of the input could not possibly hold is refused at once, so a caller
 * that pre-allocates by count cannot be made to allocate 2^63. */
#ifndef ZLMDB_CBOR_READ_INT_H
#define ZLMDB_CBOR_READ_INT_H

#include <math.h>
#include <string.h>

#include "codec_int.h"
#include "common_int.h"

/* Record the sticky error at `off` and return `rc` (cbor.c; cold). */
int zlmdb__cbor_fail(zlmdb_cbor_reader *r, int rc, size_t off, const char *what);

static inline int cr_push(zlmdb_cbor_reader *r, zlmdb_cbor_kind kind, int indefinite,
                          uint64_t remaining, size_t off)
{
    zlmdb__cbor_frame *f;

    if (r->depth >= r->max_depth)
        return zlmdb__cbor_fail(r, ZLMDB_TOO_DEEP, off, "nesting deeper than the limit");
    if (r->depth == r->stack_cap) {
        size_t cap = r->stack_cap * 2;
        zlmdb__cbor_frame *ns;
        if (cap > r->max_depth)
            cap = r->max_depth;
        if (cap > SIZE_MAX / sizeof(*ns))
            return zlmdb__cbor_fail(r, ZLMDB_ENOMEM, off, "nesting stack too large");
        if (r->stack == r->inline_stack) {
            ns = zlmdb__malloc(cap * sizeof(*ns));
            if (ns)
                memcpy(ns, r->inline_stack, sizeof(r->inline_stack));
        } else {
            ns = zlmdb__realloc(r->stack, cap * sizeof(*ns));
        }
        if (ns == NULL)
            return zlmdb__cbor_fail(r, ZLMDB_ENOMEM, off, "out of memory for the nesting stack");
        r->stack = ns;
        r->stack_cap = cap;
    }
    f = &r->stack[r->depth++];
    f->remaining = remaining;
    f->kind = (unsigned char)kind;
    f->indefinite = (unsigned char)(indefinite != 0);
    f->tagged = 0;
    return ZLMDB_OK;
}

/* Read the argument of a head whose additional info is `ai`.  Returns 0,
 * 1 for "indefinite" (ai 31), or an error. */
static inline int cr_read_arg(zlmdb_cbor_reader *r, unsigned ai, size_t off, uint64_t *arg)
{
    size_t n, i;
    uint64_t v = 0;

    if (ai < 24) {
        *arg = ai;
        return 0;
    }
    if (ai >= 28 && ai <= 30)
        return zlmdb__cbor_fail(r, ZLMDB_DECODE, off, "reserved additional information 28-30");
    if (ai == 31)
        return 1;
    n = (size_t)1 << (ai - 24);
    if (r->len - r->pos < n)
        return zlmdb__cbor_fail(r, ZLMDB_TRUNCATED, off, "input ends inside an item head");
    for (i = 0; i < n; i++)
        v = (v << 8) | r->data[r->pos + i];
    r->pos += n;
    *arg = v;
    return 0;
}

static inline double cr_half_to_double(unsigned h)
{
    unsigned exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
    double v;

    if (exp == 0)
        v = ldexp((double)mant, -24);
    else if (exp == 31)
        v = mant ? NAN : INFINITY;
    else
        v = ldexp((double)(mant + 1024), (int)exp - 25);
    return (h & 0x8000) ? -v : v;
}

/* Called once an item (scalar, or a container at its END) is complete:
 * count it against the enclosing container and set `done` at top level. */
static inline void cr_complete_item(zlmdb_cbor_reader *r, zlmdb_cbor_item *out)
{
    if (r->depth == 0) {
        r->top_tagged = 0;
        r->ntop++;
        out->done = 1;
        return;
    }
    r->stack[r->depth - 1].tagged = 0;
    /* Definite: count down to the implicit end.  Indefinite: count up, so a
     * break can tell a map that ends after a key. */
    if (r->stack[r->depth - 1].indefinite)
        r->stack[r->depth - 1].remaining++;
    else
        r->stack[r->depth - 1].remaining--;
}

/* The head at *p (never reading at or past `end`) for the extension's
 * decode fast paths, which read definite items straight from the bytes:
 * major type and argument, *p moved past the head.  -1 for an indefinite
 * length, a reserved additional-information value or a head cut short:
 * the fast paths then leave the input to the pull reader above. */
static inline int zlmdb__cbor_head_at(const unsigned char **p, const unsigned char *end,
                                      unsigned *major, uint64_t *arg)
{
    const unsigned char *q = *p;
    unsigned ai, i, n;
    uint64_t v = 0;

    if (q >= end)
        return -1;
    *major = *q >> 5;
    ai = *q++ & 31;
    if (ai < 24) {
        *arg = ai;
        *p = q;
        return 0;
    }
    if (ai > 27)
        return -1;
    n = 1u << (ai - 24);
    if ((size_t)(end - q) < n)
        return -1;
    for (i = 0; i < n; i++)
        v = (v << 8) | q[i];
    *p = q + n;
    *arg = v;
    return 0;
}

static inline int zlmdb__cbor_next(zlmdb_cbor_reader *r, zlmdb_cbor_item *out)
{
    size_t off;
    unsigned ib, major, ai;
    uint64_t arg = 0;
    int ind;
    zlmdb__cbor_frame *top;

    if (r->error)
        return zlmdb__error_set(r->error, "CBOR: earlier error at offset %zu",
                                r->error_offset);
    memset(out, 0, sizeof(*out));
    off = r->pos;
    out->offset = off;
    top = r->depth ? &r->stack[r->depth - 1] : NULL;

    /* A definite container whose items are all read ends without a byte. */
    if (top && !top->indefinite && top->remaining == 0) {
        out->kind = ZLMDB_CBOR_END;
        out->end_of = (zlmdb_cbor_kind)top->kind;
        r->depth--;
        out->depth = r->depth;
        cr_complete_item(r, out);
        return ZLMDB_OK;
    }
    if (r->pos == r->len) {
        if (top == NULL && !r->top_tagged && r->ntop > 0) {
            out->kind = ZLMDB_CBOR_EOF;
            return ZLMDB_OK;
        }
        return zlmdb__cbor_fail(r, ZLMDB_TRUNCATED, off, "input ends inside an item");
    }
    ib = r->data[r->pos++];
    major = ib >> 5;
    ai = ib & 0x1F;
    out->depth = r->depth;

    if (ib == 0xFF) {
        if (top == NULL || !top->indefinite)
            return zlmdb__cbor_fail(r, ZLMDB_DECODE, off,
                                    "break outside an indefinite-length item");
        if (top->tagged)
            return zlmdb__cbor_fail(r, ZLMDB_DECODE, off, "break where a tagged item should be");
        if (top->kind == ZLMDB_CBOR_MAP && (top->remaining & 1))
            return zlmdb__cbor_fail(r, ZLMDB_DECODE, off, "map ends after a key without its value");
        out->kind = ZLMDB_CBOR_END;
        out->end_of = (zlmdb_cbor_kind)top->kind;
        r->depth--;
        out->depth = r->depth;
        cr_complete_item(r, out);
        return ZLMDB_OK;
    }

    /* Inside an indefinite string only definite strings of the same major
     * type may appear (RFC 8949 3.2.3). */
    if (top && top->indefinite &&
        (top->kind == ZLMDB_CBOR_BYTES || top->kind == ZLMDB_CBOR_TEXT)) {
        unsigned want = top->kind == ZLMDB_CBOR_BYTES ? 2 : 3;
        if (major != want || ai == 31)
            return zlmdb__cbor_fail(r, ZLMDB_DECODE, off, "indefinite-length string holds "
                                                          "something other than a chunk");
    }

    ind = cr_read_arg(r, ai, off, &arg);
    if (ind < 0)
        return ind;
    if (ind && (major == 0 || major == 1 || major == 6))
        return zlmdb__cbor_fail(r, ZLMDB_DECODE, off, "indefinite length on an integer or tag");
    if (ind && major == 7)
        return zlmdb__cbor_fail(r, ZLMDB_DECODE, off, "break outside an indefinite-length item");

    switch (major) {
    case 0:
    case 1:
        out->kind = major == 0 ? ZLMDB_CBOR_UINT : ZLMDB_CBOR_NEGINT;
        out->u = arg;
        break;
    case 2:
    case 3:
        out->kind = major == 2 ? ZLMDB_CBOR_BYTES : ZLMDB_CBOR_TEXT;
        if (ind) {
            out->indefinite = 1;
            if (cr_push(r, out->kind, 1, 0, off))
                return r->error;
            /* Counted against the parent when its END comes. */
            return ZLMDB_OK;
        }
        if (arg > (uint64_t)(r->len - r->pos))
            return zlmdb__cbor_fail(r, ZLMDB_TRUNCATED, off,
                                    "string longer than the rest of the input");
        out->data = r->data + r->pos;
        out->len = (size_t)arg;
        if (major == 3 && !zlmdb__is_ascii(out->data, out->len)) {
            size_t bad;
            if (!zlmdb__utf8_check(out->data, out->len, &bad))
                return zlmdb__cbor_fail(r, ZLMDB_DECODE, r->pos + bad,
                                        "text string is not valid UTF-8");
        }
        r->pos += out->len;
        break;
    case 4:
    case 5:
        out->kind = major == 4 ? ZLMDB_CBOR_ARRAY : ZLMDB_CBOR_MAP;
        if (ind) {
            out->indefinite = 1;
            if (cr_push(r, out->kind, 1, 0, off))
                return r->error;
            return ZLMDB_OK;
        }
        /* Each item takes at least one byte: a count beyond the rest of the
         * input is a lie, refused before anyone allocates for it.  This also
         * keeps 2 * count (map) from overflowing. */
        if (arg > (uint64_t)(r->len - r->pos) / (major == 5 ? 2 : 1))
            return zlmdb__cbor_fail(r, ZLMDB_TRUNCATED, off,
                                    "count larger than the rest of the input");
        out->u = arg;
        if (cr_push(r, out->kind, 0, major == 5 ? arg * 2 : arg, off))
            return r->error;
        return ZLMDB_OK;
    case 6:
        out->kind = ZLMDB_CBOR_TAG;
        out->u = arg;
        if (top)
            top->tagged = 1;
        else
            r->top_tagged = 1;
        return ZLMDB_OK;
    default: /* 7 */
        if (ai < 24) {
            if (ai == 20)
                out->kind = ZLMDB_CBOR_FALSE;
            else if (ai == 21)
                out->kind = ZLMDB_CBOR_TRUE;
            else if (ai == 22)
                out->kind = ZLMDB_CBOR_NULL;
            else if (ai == 23)
                out->kind = ZLMDB_CBOR_UNDEFINED;
            else {
                out->kind = ZLMDB_CBOR_SIMPLE;
                out->u = ai;
            }
        } else if (ai == 24) {
            if (arg < 32)
                return zlmdb__cbor_fail(r, ZLMDB_DECODE, off, "two-byte simple value below 32");
            out->kind = ZLMDB_CBOR_SIMPLE;
            out->u = arg;
        } else {
            out->kind = ZLMDB_CBOR_FLOAT;
            if (ai == 25) {
                out->width = 2;
                out->f = cr_half_to_double((unsigned)arg);
            } else if (ai == 26) {
                float f;
                uint32_t b32 = (uint32_t)arg;
                memcpy(&f, &b32, 4);
                out->width = 4;
                out->f = (double)f;
            } else {
                double d;
                memcpy(&d, &arg, 8);
                out->width = 8;
                out->f = d;
            }
        }
        break;
    }
    cr_complete_item(r, out);
    return ZLMDB_OK;
}

#endif
