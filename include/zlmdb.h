/**
 * @file zlmdb.h
 * @brief libzlmdb: the public C API of zlmdb.
 *
 * libzlmdb is the C library under the zlmdb Python package.  It works on
 * LMDB's own handles (`MDB_env`, `MDB_txn`) and adds what an object store
 * needs on top of them: order-preserving key encodings, CBOR and JSON
 * codecs, and table and index operations.  It knows nothing about Python.
 *
 * This header is the whole API: what is not declared here is private.
 *
 * Conventions used throughout:
 *  - Functions return an `int`: 0 (#ZLMDB_OK) on success.  LMDB's `MDB_*`
 *    codes and `errno` values pass through unchanged; zlmdb's own codes
 *    lie in the band #ZLMDB_ERRCODE_FIRST .. #ZLMDB_ERRCODE_LAST.
 *    zlmdb_strerror() describes all three kinds, and zlmdb_error_last()
 *    gives the detail of the last failure on the calling thread.
 *  - `T **out` parameters of constructors hand ownership to the caller;
 *    a pointer returned as a function's value is borrowed from its parent.
 *  - Output text and bytes go into a #zlmdb_buf, released with
 *    zlmdb_buf_dispose().
 *
 * Every function is thread-safe unless its documentation says otherwise.
 */
#ifndef ZLMDB_H
#define ZLMDB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(ZLMDB_SHARED)
#  define ZLMDB_EXTERN(type) __declspec(dllexport) type
#elif defined(__GNUC__) && defined(ZLMDB_SHARED)
#  define ZLMDB_EXTERN(type) __attribute__((visibility("default"))) type
#else
#  define ZLMDB_EXTERN(type) type
#endif

/** @name Version
 *  The version of this header.  Compare with zlmdb_version() to detect a
 *  header used with a different library build.
 *  @{ */
#define ZLMDB_VERSION_MAJOR 0
#define ZLMDB_VERSION_MINOR 1
#define ZLMDB_VERSION_PATCH 0
/** A single comparable number: MAJOR * 10000 + MINOR * 100 + PATCH. */
#define ZLMDB_VERSION_NUMBER \
    (ZLMDB_VERSION_MAJOR * 10000 + ZLMDB_VERSION_MINOR * 100 + ZLMDB_VERSION_PATCH)
/** The version as a string, "MAJOR.MINOR.PATCH". */
#define ZLMDB_VERSION_STRING "0.1.0"
/** @} */

/**
 * @brief Report the version of the library actually linked.
 *
 * @param[out] major may be NULL
 * @param[out] minor may be NULL
 * @param[out] patch may be NULL
 * @return #ZLMDB_VERSION_NUMBER of the library build (not of this header).
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_version(int *major, int *minor, int *patch);

/**
 * @brief Report the LMDB the library was built with.
 *
 * @param[out] major may be NULL
 * @param[out] minor may be NULL
 * @param[out] patch may be NULL
 * @param[out] patched may be NULL; set to 1 when the LMDB carries the
 *             hardening patches of the default build, 0 otherwise.
 * @return LMDB's version string, a static string.
 * @since 0.1.0
 */
ZLMDB_EXTERN(const char *) zlmdb_lmdb_version(int *major, int *minor, int *patch,
                                              int *patched);

/** @name Error codes
 *  zlmdb's own return codes: one negative band, grouped by origin, clear of
 *  LMDB's (-30799 .. -30779) and Berkeley DB's (-30800 .. -30999) codes.
 *  @{ */
#define ZLMDB_OK            0       /**< Success. */
#define ZLMDB_ERRCODE_FIRST (-30600) /**< Lowest code in zlmdb's band... */
#define ZLMDB_ERRCODE_LAST  (-30699) /**< ...and the most negative one. */

/* General (-30600 .. -30609) */
#define ZLMDB_ERROR         (-30600) /**< Failure; zlmdb_error_last() says what. */
#define ZLMDB_EINVAL        (-30601) /**< An argument is invalid (NULL, out of range). */
#define ZLMDB_ENOMEM        (-30602) /**< Memory allocation failed. */
#define ZLMDB_NOTFOUND      (-30603) /**< No such record, slot or index. */

/* Handle and transaction misuse (-30610 .. -30619) */
#define ZLMDB_BAD_TXN       (-30610) /**< The transaction failed earlier; only abort is allowed. */
#define ZLMDB_READONLY      (-30611) /**< A write was attempted in a read-only transaction. */
#define ZLMDB_CLOSED        (-30612) /**< The handle was closed. */

/* Schema and serialization (-30620 .. -30639) */
#define ZLMDB_ENCODE        (-30620) /**< A value cannot be encoded (unsupported type). */
#define ZLMDB_DECODE        (-30621) /**< Malformed input: the detail message gives the offset. */
#define ZLMDB_TRUNCATED     (-30622) /**< Input ended in the middle of an item. */
#define ZLMDB_KEY_TYPE      (-30623) /**< A key component has the wrong type or size. */
#define ZLMDB_KEY_RANGE     (-30624) /**< A key component is outside its domain. */

/* Indexes (-30640 .. -30659) */
#define ZLMDB_UNIQUE        (-30640) /**< A unique index already holds the key. */
#define ZLMDB_NULL_KEY      (-30641) /**< A non-nullable index got a null key. */

/* Implementation limits (-30660 .. -30679) */
#define ZLMDB_TOO_DEEP      (-30660) /**< Nesting exceeds the configured depth limit. */
#define ZLMDB_TOO_LARGE     (-30661) /**< A size exceeds the configured limit. */
/** @} */

/**
 * @brief Describe a return code.
 *
 * Covers zlmdb's own codes, LMDB's `MDB_*` codes and `errno` values.
 *
 * @param[in] rc a return code
 * @return a static, NUL-terminated string; never NULL.
 * @since 0.1.0
 */
ZLMDB_EXTERN(const char *) zlmdb_strerror(int rc);

/**
 * @brief The detail message of the last failure on the calling thread.
 *
 * @return a string owned by the library, valid until the next zlmdb call on
 *         this thread, or NULL when no failure has been recorded since the
 *         last zlmdb_error_clear().
 * @note The message is thread-local: each thread sees its own.
 * @since 0.1.0
 */
ZLMDB_EXTERN(const char *) zlmdb_error_last(void);

/**
 * @brief Forget the detail message of the calling thread.
 * @since 0.1.0
 */
ZLMDB_EXTERN(void) zlmdb_error_clear(void);

/**
 * @brief A growable byte buffer owned by the library's allocator.
 *
 * Initialise with #ZLMDB_BUF_INIT; release with zlmdb_buf_dispose().
 * `ptr` is NUL-terminated whenever `asize` > 0, so text output can be used
 * as a C string; the terminator is not counted in `size`.
 */
typedef struct zlmdb_buf {
    unsigned char *ptr; /**< The bytes; NULL while nothing is allocated. */
    size_t size;        /**< Bytes in use. */
    size_t asize;       /**< Bytes allocated (0 for an empty buffer). */
} zlmdb_buf;

/** Static initializer for an empty #zlmdb_buf. */
#define ZLMDB_BUF_INIT { NULL, 0, 0 }

/**
 * @brief Make room for at least `extra` more bytes after `buf->size`.
 *
 * @param[in,out] buf the buffer
 * @param[in] extra bytes needed beyond the current size
 * @return #ZLMDB_OK, #ZLMDB_ENOMEM (the buffer is left as it was) or
 *         #ZLMDB_TOO_LARGE when the size would overflow.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_buf_reserve(zlmdb_buf *buf, size_t extra);

/**
 * @brief Append `len` bytes to the buffer.
 *
 * @param[in,out] buf the buffer
 * @param[in] data the bytes (may be NULL when `len` is 0)
 * @param[in] len how many
 * @return #ZLMDB_OK, #ZLMDB_ENOMEM or #ZLMDB_TOO_LARGE; on failure the
 *         buffer is unchanged.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_buf_append(zlmdb_buf *buf, const void *data, size_t len);

/**
 * @brief Forget the contents but keep the allocation for reuse.
 * @param[in,out] buf the buffer; may be NULL.
 * @since 0.1.0
 */
ZLMDB_EXTERN(void) zlmdb_buf_clear(zlmdb_buf *buf);

/**
 * @brief Free the buffer's memory and reset it to #ZLMDB_BUF_INIT.
 * @param[in,out] buf the buffer; may be NULL (no-op).
 * @since 0.1.0
 */
ZLMDB_EXTERN(void) zlmdb_buf_dispose(zlmdb_buf *buf);

/**
 * @brief A replacement for the C allocator, for embedding and fault testing.
 *
 * All three functions must be given.  `payload` is passed back unchanged.
 */
typedef struct zlmdb_allocator {
    unsigned version;                                   /**< ZLMDB_ALLOCATOR_VERSION */
    void *(*malloc_fn)(size_t size, void *payload);     /**< like malloc() */
    void *(*realloc_fn)(void *ptr, size_t size, void *payload); /**< like realloc() */
    void (*free_fn)(void *ptr, void *payload);          /**< like free() */
    void *payload;                                      /**< user data */
} zlmdb_allocator;

/** The current version of #zlmdb_allocator. */
#define ZLMDB_ALLOCATOR_VERSION 1u

/**
 * @brief Replace the allocator libzlmdb uses for its own memory.
 *
 * LMDB's internal allocations are not affected.  Set the allocator before
 * any other call and never while buffers allocated by the previous one are
 * alive: memory must be freed by the allocator that allocated it.
 *
 * @param[in] alloc the allocator, copied; NULL restores the C allocator.
 * @return #ZLMDB_OK, or #ZLMDB_EINVAL for a wrong version or a missing
 *         function.
 * @note Not thread-safe: call it while no other thread uses libzlmdb.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_set_allocator(const zlmdb_allocator *alloc);

#ifdef __cplusplus
}
#endif

#endif /* ZLMDB_H */
