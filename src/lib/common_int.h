/* Internal declarations shared by libzlmdb's modules.  Not installed. */
#ifndef ZLMDB_COMMON_INT_H
#define ZLMDB_COMMON_INT_H

#include "zlmdb.h"

#if defined(__GNUC__)
#  define ZLMDB__PRINTF(f, a) __attribute__((format(printf, f, a)))
/* noinline for the cold half of an inline function in a header; unused,
 * since not every file that includes the header calls it */
#  define ZLMDB__NOINLINE __attribute__((noinline, unused))
#  define ZLMDB__LIKELY(x) __builtin_expect(!!(x), 1)
#  define ZLMDB__ALWAYS_INLINE inline __attribute__((always_inline))
#else
#  define ZLMDB__PRINTF(f, a)
#  define ZLMDB__NOINLINE
#  define ZLMDB__LIKELY(x) (x)
#  define ZLMDB__ALWAYS_INLINE inline
#endif

/* alloc.c: every allocation of libzlmdb goes through these three, so an
 * embedding application (or a fault-injection test) controls them all. */
void *zlmdb__malloc(size_t size);
void *zlmdb__realloc(void *ptr, size_t size);
void zlmdb__free(void *ptr);

/* error.c: record the thread-local detail message and return `rc`, so a
 * failure site reads `return zlmdb__error_set(ZLMDB_EINVAL, "...", ...);` */
int zlmdb__error_set(int rc, const char *fmt, ...) ZLMDB__PRINTF(2, 3);

/* cbor.c: strict UTF-8 check (no overlongs, no surrogates, max U+10FFFF),
 * shared by the key, CBOR and JSON codecs.  Returns 1 when valid; else 0
 * and the offset of the first bad byte in *bad_off (when not NULL). */
int zlmdb__utf8_check(const unsigned char *s, size_t len, size_t *bad_off);

/* engine.c: the engine behind lmdb.h's mdb_* names (LMDB 0.9, or the one
 * engine of a single-engine build): what a NULL engine argument means. */
const zlmdb_engine *zlmdb__engine_default(void);
/* The newest engine: its mdb_strerror() knows every LMDB code. */
const zlmdb_engine *zlmdb__engine_newest(void);

/* The value of a hexadecimal digit, or -1. */
static inline int zlmdb__hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
