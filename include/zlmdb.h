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

#include <lmdb.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Declares a public function returning `type`.  libzlmdb is compiled with
 *  hidden visibility: the functions declared with it are the ones
 *  libzlmdb.so exports (a program that only calls them is unaffected). */
#if defined(_WIN32) && defined(ZLMDB_SHARED)
#  define ZLMDB_EXTERN(type) __declspec(dllexport) type
#elif defined(__GNUC__)
#  define ZLMDB_EXTERN(type) __attribute__((visibility("default"))) type
#else
#  define ZLMDB_EXTERN(type) type
#endif

/** @name Version
 *  The version of this header.  Compare with zlmdb_version() to detect a
 *  header used with a different library build.
 *  @{ */
#define ZLMDB_VERSION_MAJOR 0 /**< Incremented for incompatible API changes. */
#define ZLMDB_VERSION_MINOR 3 /**< Incremented for compatible additions. */
#define ZLMDB_VERSION_PATCH 0 /**< Incremented for fixes. */
/** A single comparable number: MAJOR * 10000 + MINOR * 100 + PATCH. */
#define ZLMDB_VERSION_NUMBER \
    (ZLMDB_VERSION_MAJOR * 10000 + ZLMDB_VERSION_MINOR * 100 + ZLMDB_VERSION_PATCH)
/** The version as a string, "MAJOR.MINOR.PATCH". */
#define ZLMDB_VERSION_STRING "0.3.0"
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
 * @brief Report the LMDB behind `lmdb.h`'s `mdb_*` functions: the LMDB 0.9
 *        engine, or the only engine of a single-engine build.  See
 *        zlmdb_engine_get() for the others.
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
/** An index callback (#zlmdb_index_key_fn, #zlmdb_index_value_fn) reported
 *  a failure of the caller's own code; for Python, an exception is pending.
 *  @since 0.3.0 */
#define ZLMDB_CALLBACK      (-30642)
/** Never returned: a write that failed after its first LMDB write says so
 *  in zlmdb_table_writes.midway.  Reserved so the band stays described.
 *  @since 0.3.0 */
#define ZLMDB_HALF          (-30643)

/* Implementation limits (-30660 .. -30679) */
#define ZLMDB_TOO_DEEP      (-30660) /**< Nesting exceeds the configured depth limit. */
#define ZLMDB_TOO_LARGE     (-30661) /**< A size exceeds the configured limit. */

/* Files and formats (-30680 .. -30689) */
#define ZLMDB_BAD_FORMAT    (-30680) /**< A file holds data of no LMDB format this build reads. */
#define ZLMDB_FORMAT_MISMATCH (-30681) /**< An environment's format is not the one asked for. */

/* Offline verification (-30690 .. -30699) */
#define ZLMDB_VERIFY_FAILED      (-30690) /**< The file was walked and has problems; the report lists them. */
#define ZLMDB_VERIFY_UNSUPPORTED (-30691) /**< Not an LMDB data file of a supported layout: nothing was verified. */
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

/** @name Buffers and allocation
 *  Output of variable size is appended to a #zlmdb_buf.  The library's own
 *  memory comes from one allocator, which an application may replace.
 *  @{ */

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
/** @} */

/* ============================================================== engines */

/** @name LMDB engines
 *  LMDB has two release lines whose files cannot read each other: LMDB 0.9
 *  writes data format v1, LMDB 1.0 writes data format v3.  libzlmdb
 *  carries one engine for each (a build with `ZLMDB_SYSTEM_LMDB=1` carries
 *  only the system's), and every environment is bound to one engine for
 *  its whole life: an existing file opens with the engine its format
 *  needs, a new one with the engine the program asks for.
 *
 *  The `mdb_*` functions of the installed `lmdb.h` are the LMDB 0.9
 *  engine.  Every engine, that one included, is also reachable through a
 *  #zlmdb_engine: a table of LMDB's entry points with the signatures of
 *  `lmdb.h`, so a program written once against the table works on either
 *  format.  Handles never cross engines: an `MDB_txn` begun through one
 *  engine is only ever passed to that engine's functions.
 *
 *  The types are shared.  On every platform libzlmdb is built for
 *  (`MDB_VL32` is never defined), LMDB 1.0's `mdb_size_t` is `size_t` and
 *  `MDB_val`, `MDB_stat` and `MDB_envinfo` have the same layout in both
 *  lines, so the 0.9 header describes both engines.
 *  @{ */

/** `lib_version` value: choose by the file (existing environments) or the
 *  default (new ones, LMDB 0.9 as in py-lmdb). */
#define ZLMDB_LIB_VERSION_AUTO (-1)
/** `lib_version` value: the LMDB 0.9 engine, data format v1. */
#define ZLMDB_LIB_VERSION_0_9 0
/** `lib_version` value: the LMDB 1.0 engine, data format v3. */
#define ZLMDB_LIB_VERSION_1_0 1

/* LMDB 1.0's own return codes, for programs that include the 0.9 lmdb.h.
 * A 1.0 engine returns them; zlmdb_strerror() describes them. */
#ifndef MDB_PROBLEM
#  define MDB_PROBLEM       (-30779) /**< LMDB 1.0: unexpected problem, the txn should abort. */
#  define MDB_BAD_CHECKSUM  (-30778) /**< LMDB 1.0: page checksum incorrect. */
#  define MDB_CRYPTO_FAIL   (-30777) /**< LMDB 1.0: encryption or decryption failed. */
#  define MDB_ENV_ENCRYPTION (-30776) /**< LMDB 1.0: environment encryption mismatch. */
#  define MDB_TXN_PENDING   (-30775) /**< LMDB 1.0: transaction was already prepared. */
#  define MDB_CANT_ROLLBACK (-30774) /**< LMDB 1.0: cannot roll back the last transaction. */
#  define MDB_DBIS_BUSY     (-30773) /**< LMDB 1.0: cannot drop the main DB while others are open. */
#  define MDB_SHORT_WRITE   (-30772) /**< LMDB 1.0: a write was incomplete. */
#  define MDB_ENV_BUSY      (-30771) /**< LMDB 1.0: environment busy, no previous snapshot. */
#  define MDB_IS_READONLY   (-30770) /**< LMDB 1.0: environment or txn is read-only. */
#  define MDB_ADDR_BUSY     (-30769) /**< LMDB 1.0: requested map address unavailable. */
#endif

/** The current version of #zlmdb_engine's layout. */
#define ZLMDB_ENGINE_VERSION 1u

/**
 * @brief One LMDB engine: its identity and its entry points.
 *
 * Each function pointer has the signature and meaning of the `lmdb.h`
 * function of the same name without the `mdb_` prefix.  Engines are
 * static: a pointer obtained from zlmdb_engine_get() or
 * zlmdb_engine_for_path() stays valid for the life of the process.
 * @since 0.2.0
 */
typedef struct zlmdb_engine {
    unsigned version;       /**< #ZLMDB_ENGINE_VERSION of the library that made it. */
    int lib_version;        /**< 0 for LMDB 0.9.x, 1 for LMDB 1.0.x. */
    int major;              /**< LMDB's major version, */
    int minor;              /**< minor version */
    int patch;              /**< and patch level. */
    unsigned data_version;  /**< The on-disk format it reads and writes: 1 or 3. */
    int patched;            /**< 1 when it carries the hardening patches. */
    char *(*version_fn)(int *major, int *minor, int *patch); /**< mdb_version() */
    char *(*strerror)(int err);                               /**< mdb_strerror() */
    int (*env_create)(MDB_env **env);                         /**< mdb_env_create() */
    int (*env_open)(MDB_env *env, const char *path, unsigned int flags,
                    mdb_mode_t mode);                          /**< mdb_env_open() */
    int (*env_copy)(MDB_env *env, const char *path);          /**< mdb_env_copy() */
    int (*env_copyfd)(MDB_env *env, mdb_filehandle_t fd);     /**< mdb_env_copyfd() */
    int (*env_copy2)(MDB_env *env, const char *path, unsigned int flags); /**< mdb_env_copy2() */
    int (*env_copyfd2)(MDB_env *env, mdb_filehandle_t fd,
                       unsigned int flags);                    /**< mdb_env_copyfd2() */
    /** The hardening patches' copy of a given read transaction's snapshot;
     *  NULL when #patched is 0. */
    int (*env_copy3)(MDB_env *env, const char *path, unsigned int flags, MDB_txn *txn);
    /** As #env_copy3, to a file descriptor; NULL when #patched is 0. */
    int (*env_copyfd3)(MDB_env *env, mdb_filehandle_t fd, unsigned int flags, MDB_txn *txn);
    int (*env_stat)(MDB_env *env, MDB_stat *stat);            /**< mdb_env_stat() */
    int (*env_info)(MDB_env *env, MDB_envinfo *stat);         /**< mdb_env_info() */
    int (*env_sync)(MDB_env *env, int force);                 /**< mdb_env_sync() */
    void (*env_close)(MDB_env *env);                          /**< mdb_env_close() */
    int (*env_set_flags)(MDB_env *env, unsigned int flags, int onoff); /**< mdb_env_set_flags() */
    int (*env_get_flags)(MDB_env *env, unsigned int *flags);  /**< mdb_env_get_flags() */
    int (*env_get_path)(MDB_env *env, const char **path);     /**< mdb_env_get_path() */
    int (*env_get_fd)(MDB_env *env, mdb_filehandle_t *fd);    /**< mdb_env_get_fd() */
    int (*env_set_mapsize)(MDB_env *env, size_t size);        /**< mdb_env_set_mapsize() */
    int (*env_set_maxreaders)(MDB_env *env, unsigned int readers); /**< mdb_env_set_maxreaders() */
    int (*env_get_maxreaders)(MDB_env *env, unsigned int *readers); /**< mdb_env_get_maxreaders() */
    int (*env_set_maxdbs)(MDB_env *env, MDB_dbi dbs);         /**< mdb_env_set_maxdbs() */
    int (*env_get_maxkeysize)(MDB_env *env);                  /**< mdb_env_get_maxkeysize() */
    int (*env_set_userctx)(MDB_env *env, void *ctx);          /**< mdb_env_set_userctx() */
    void *(*env_get_userctx)(MDB_env *env);                   /**< mdb_env_get_userctx() */
    int (*env_set_assert)(MDB_env *env, MDB_assert_func *func); /**< mdb_env_set_assert() */
    int (*txn_begin)(MDB_env *env, MDB_txn *parent, unsigned int flags,
                     MDB_txn **txn);                           /**< mdb_txn_begin() */
    MDB_env *(*txn_env)(MDB_txn *txn);                        /**< mdb_txn_env() */
    size_t (*txn_id)(MDB_txn *txn);                           /**< mdb_txn_id() */
    int (*txn_commit)(MDB_txn *txn);                          /**< mdb_txn_commit() */
    void (*txn_abort)(MDB_txn *txn);                          /**< mdb_txn_abort() */
    void (*txn_reset)(MDB_txn *txn);                          /**< mdb_txn_reset() */
    int (*txn_renew)(MDB_txn *txn);                           /**< mdb_txn_renew() */
    int (*dbi_open)(MDB_txn *txn, const char *name, unsigned int flags,
                    MDB_dbi *dbi);                             /**< mdb_dbi_open() */
    int (*stat)(MDB_txn *txn, MDB_dbi dbi, MDB_stat *stat);   /**< mdb_stat() */
    int (*dbi_flags)(MDB_txn *txn, MDB_dbi dbi, unsigned int *flags); /**< mdb_dbi_flags() */
    void (*dbi_close)(MDB_env *env, MDB_dbi dbi);             /**< mdb_dbi_close() */
    int (*drop)(MDB_txn *txn, MDB_dbi dbi, int del);          /**< mdb_drop() */
    int (*set_compare)(MDB_txn *txn, MDB_dbi dbi, MDB_cmp_func *cmp); /**< mdb_set_compare() */
    int (*set_dupsort)(MDB_txn *txn, MDB_dbi dbi, MDB_cmp_func *cmp); /**< mdb_set_dupsort() */
    int (*get)(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data); /**< mdb_get() */
    int (*put)(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data,
               unsigned int flags);                            /**< mdb_put() */
    int (*del)(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data); /**< mdb_del() */
    int (*cursor_open)(MDB_txn *txn, MDB_dbi dbi, MDB_cursor **cursor); /**< mdb_cursor_open() */
    void (*cursor_close)(MDB_cursor *cursor);                 /**< mdb_cursor_close() */
    int (*cursor_renew)(MDB_txn *txn, MDB_cursor *cursor);    /**< mdb_cursor_renew() */
    MDB_txn *(*cursor_txn)(MDB_cursor *cursor);               /**< mdb_cursor_txn() */
    MDB_dbi (*cursor_dbi)(MDB_cursor *cursor);                /**< mdb_cursor_dbi() */
    int (*cursor_get)(MDB_cursor *cursor, MDB_val *key, MDB_val *data,
                      MDB_cursor_op op);                       /**< mdb_cursor_get() */
    int (*cursor_put)(MDB_cursor *cursor, MDB_val *key, MDB_val *data,
                      unsigned int flags);                     /**< mdb_cursor_put() */
    int (*cursor_del)(MDB_cursor *cursor, unsigned int flags); /**< mdb_cursor_del() */
    int (*cursor_count)(MDB_cursor *cursor, size_t *countp);  /**< mdb_cursor_count() */
    int (*cmp)(MDB_txn *txn, MDB_dbi dbi, const MDB_val *a, const MDB_val *b); /**< mdb_cmp() */
    int (*dcmp)(MDB_txn *txn, MDB_dbi dbi, const MDB_val *a, const MDB_val *b); /**< mdb_dcmp() */
    int (*reader_list)(MDB_env *env, MDB_msg_func *func, void *ctx); /**< mdb_reader_list() */
    int (*reader_check)(MDB_env *env, int *dead);             /**< mdb_reader_check() */
} zlmdb_engine;

/**
 * @brief The engine for an LMDB release line.
 *
 * @param[in] lib_version #ZLMDB_LIB_VERSION_0_9, #ZLMDB_LIB_VERSION_1_0, or
 *            #ZLMDB_LIB_VERSION_AUTO for the default engine of new
 *            environments (LMDB 0.9 when the build has it).
 * @param[out] out the engine, static.
 * @return #ZLMDB_OK, or #ZLMDB_NOTFOUND when this build has no such engine
 *         (zlmdb_error_last() names the engines it has).
 * @since 0.2.0
 */
ZLMDB_EXTERN(int) zlmdb_engine_get(int lib_version, const zlmdb_engine **out);

/**
 * @brief Read the format of an existing environment's data file, without
 *        handing the file to LMDB.
 *
 * @param[in] path the environment's directory, or with `MDB_NOSUBDIR` in
 *            `env_flags` its data file (as given to mdb_env_open()).
 * @param[in] env_flags the flags the environment will be opened with; only
 *            `MDB_NOSUBDIR` matters.
 * @param[out] lib_version_out 0 (LMDB 0.9, data format v1), 1 (LMDB 1.0,
 *             data format v3), or #ZLMDB_LIB_VERSION_AUTO when there is no
 *             data yet (no file, or an empty one): a new environment.
 * @return #ZLMDB_OK; #ZLMDB_BAD_FORMAT when the file holds data of no LMDB
 *         format this library reads (zlmdb_error_last() says what was
 *         found: another data format version, another byte order or word
 *         size, or no LMDB meta page at all); an `errno` value when the file
 *         exists but cannot be read.
 * @since 0.2.0
 */
ZLMDB_EXTERN(int) zlmdb_engine_detect(const char *path, unsigned int env_flags,
                                      int *lib_version_out);

/**
 * @brief The engine to open an environment with.
 *
 * An existing environment opens with the engine of its file's format; a
 * new one with `lib_version`, or LMDB 0.9 for #ZLMDB_LIB_VERSION_AUTO.
 *
 * @param[in] path as for zlmdb_engine_detect()
 * @param[in] env_flags as for zlmdb_engine_detect()
 * @param[in] lib_version #ZLMDB_LIB_VERSION_AUTO, or the release line the
 *            caller requires.
 * @param[out] out the engine, static.
 * @return #ZLMDB_OK; #ZLMDB_FORMAT_MISMATCH when the file exists in the
 *         other format than `lib_version` asks for (the message names both);
 *         #ZLMDB_NOTFOUND when the build lacks the engine needed;
 *         the codes of zlmdb_engine_detect().
 * @since 0.2.0
 */
ZLMDB_EXTERN(int) zlmdb_engine_for_path(const char *path, unsigned int env_flags,
                                        int lib_version, const zlmdb_engine **out);

/** @} */

/* ================================================================ keys */

/** @name Keys
 *  Order-preserving key encodings.  A composite key is described by a
 *  #zlmdb_key_desc (a list of component types), not by code per layout; the
 *  encoding is the concatenation of the components' encodings, so the byte
 *  order LMDB compares equals the order of the component tuples (except
 *  where a type says otherwise).  Formats: docs/codecs.md.
 *  @{ */

/** The type of one key component.  @since 0.1.0 */
typedef enum zlmdb_key_type {
    ZLMDB_KEY_UINT8 = 1,  /**< 1 byte. */
    ZLMDB_KEY_UINT16,     /**< 2 bytes, big-endian. */
    ZLMDB_KEY_UINT16LE,   /**< 2 bytes, little-endian: NOT order-preserving; only for
                               the on-disk format of upstream's
                               MapUint16UuidTimestampFlatBuffers. */
    ZLMDB_KEY_UINT32,     /**< 4 bytes, big-endian. */
    ZLMDB_KEY_UINT64,     /**< 8 bytes, big-endian. */
    ZLMDB_KEY_OID,        /**< 8 bytes, big-endian, value 0 .. 2^53 inclusive. */
    ZLMDB_KEY_UUID,       /**< 16 raw bytes (RFC 4122 byte order). */
    ZLMDB_KEY_TIMESTAMP,  /**< int64 nanoseconds since 1970, 8 bytes big-endian;
                               negative values refused (they would sort last). */
    ZLMDB_KEY_BYTES16,    /**< 16 raw bytes. */
    ZLMDB_KEY_BYTES20,    /**< 20 raw bytes. */
    ZLMDB_KEY_BYTES32,    /**< 32 raw bytes. */
    ZLMDB_KEY_STRING      /**< Raw UTF-8, no length, no terminator (see #zlmdb_key_desc). */
} zlmdb_key_type;

/** The most components a key descriptor can have. */
#define ZLMDB_KEY_MAX_COMPONENTS 8

/** The largest OID value, 2^53. */
#define ZLMDB_KEY_OID_MAX 9007199254740992ULL

/** zlmdb_key_fixed_size() reports this for a descriptor with a string. */
#define ZLMDB_KEY_VARIABLE ((size_t)-1)

/**
 * @brief The layout of a (composite) key.
 *
 * Valid descriptors (zlmdb_key_desc_check()):
 *  - 1 .. #ZLMDB_KEY_MAX_COMPONENTS components with at most one
 *    #ZLMDB_KEY_STRING.  A string should be the last component: only then is
 *    the order of whole keys the order of the tuples.  A string followed by
 *    fixed-width components is accepted too (decoded from the tail), because
 *    upstream's (str, oid) and (str, timestamp) maps store keys that way.
 *  - 2 or 3 components that are all #ZLMDB_KEY_STRING: upstream's
 *    NUL-separated layout `a 0x00 b [0x00 c]`; the strings must not
 *    contain NUL.
 *
 * @since 0.1.0
 */
typedef struct zlmdb_key_desc {
    unsigned ncomp;                            /**< Number of components. */
    zlmdb_key_type comp[ZLMDB_KEY_MAX_COMPONENTS]; /**< Their types, in order. */
} zlmdb_key_desc;

/**
 * @brief The value of one key component, for encoding or from decoding.
 *
 * Which field is used depends on the component's type: `u` for the
 * unsigned types and OID, `i` for TIMESTAMP, `data`/`len` for UUID, BYTES*
 * and STRING (UTF-8).
 *
 * @since 0.1.0
 */
typedef struct zlmdb_key_value {
    int is_null;               /**< Nonzero: a null (None) component. */
    uint64_t u;                /**< UINT8/16/16LE/32/64 and OID. */
    int64_t i;                 /**< TIMESTAMP, nanoseconds. */
    const unsigned char *data; /**< UUID, BYTES*, STRING bytes. */
    size_t len;                /**< Length of `data`. */
} zlmdb_key_value;

/** Encode flag: a null component encodes as its type's zero value (zero
 *  UUID, 0, zero bytes, empty string) instead of failing; for range bounds. */
#define ZLMDB_KEY_NULL_AS_ZERO 0x1u
/** Encode flag: accept what zlmdb_key_decode() accepts (OIDs above 2^53,
 *  negative timestamps), to address records written by other software. */
#define ZLMDB_KEY_LENIENT 0x2u

/**
 * @brief Check a key descriptor.
 * @param[in] desc the descriptor
 * @return #ZLMDB_OK or #ZLMDB_EINVAL (with the reason in zlmdb_error_last()).
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_key_desc_check(const zlmdb_key_desc *desc);

/**
 * @brief The encoded size of keys of this layout, when it is fixed.
 * @param[in] desc the descriptor
 * @param[out] size_out the size in bytes, or #ZLMDB_KEY_VARIABLE when the
 *             layout has a string.
 * @return #ZLMDB_OK or #ZLMDB_EINVAL for an invalid descriptor.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_key_fixed_size(const zlmdb_key_desc *desc, size_t *size_out);

/**
 * @brief Append the encoding of a full key to `out`.
 *
 * Appends, so a caller can write the 2-byte slot prefix first.
 *
 * @param[in] desc the descriptor
 * @param[in] vals `desc->ncomp` component values
 * @param[in] flags #ZLMDB_KEY_NULL_AS_ZERO, #ZLMDB_KEY_LENIENT or 0
 * @param[in,out] out the buffer; on failure its size is restored.
 * @return #ZLMDB_OK, #ZLMDB_KEY_TYPE (wrong size, invalid UTF-8, or a null
 *         without #ZLMDB_KEY_NULL_AS_ZERO), #ZLMDB_KEY_RANGE (value outside
 *         its type's domain, NUL in a NUL-separated string), #ZLMDB_EINVAL
 *         or #ZLMDB_ENOMEM.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_key_encode(const zlmdb_key_desc *desc, const zlmdb_key_value *vals,
                                   unsigned flags, zlmdb_buf *out);

/**
 * @brief Append the encoding of the first `k` components of a key.
 *
 * Every full key whose first `k` components equal these starts with the
 * appended bytes, so they serve as a prefix for counting and scanning.  In
 * the NUL-separated layout each of the `k` strings is followed by its NUL
 * (when `k` < ncomp).  A prefix that ends with a string that is followed by
 * fixed-width components cannot be expressed and is refused.
 *
 * @param[in] desc the descriptor
 * @param[in] vals `k` component values
 * @param[in] k 0 .. `desc->ncomp`
 * @param[in] flags as for zlmdb_key_encode()
 * @param[in,out] out the buffer; on failure its size is restored.
 * @return as zlmdb_key_encode().
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_key_encode_prefix(const zlmdb_key_desc *desc,
                                          const zlmdb_key_value *vals, unsigned k,
                                          unsigned flags, zlmdb_buf *out);

/**
 * @brief Decode a full key (without its slot prefix) into its components.
 *
 * Decoding accepts every value the bytes can hold (OIDs above 2^53,
 * negative timestamps), so records written by other software stay readable;
 * it checks sizes and UTF-8.
 *
 * @param[in] desc the descriptor
 * @param[in] data the encoded key
 * @param[in] len its length
 * @param[out] vals_out `desc->ncomp` values; `is_null` is always 0.
 * @return #ZLMDB_OK, #ZLMDB_TRUNCATED (too few bytes), #ZLMDB_DECODE
 *         (trailing bytes, invalid UTF-8, missing NUL separator) or
 *         #ZLMDB_EINVAL.
 * @note `data` pointers in `vals_out` point into `data` (borrowed): they are
 *       valid as long as `data` is.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_key_decode(const zlmdb_key_desc *desc, const void *data, size_t len,
                                   zlmdb_key_value *vals_out);

/**
 * @brief Append a 2-byte big-endian slot prefix.
 * @param[in] slot the slot number
 * @param[in,out] out the buffer
 * @return #ZLMDB_OK or #ZLMDB_ENOMEM.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_key_encode_slot(uint16_t slot, zlmdb_buf *out);

/**
 * @brief Read the 2-byte big-endian slot prefix of a physical key.
 * @param[in] data the key
 * @param[in] len its length
 * @param[out] slot_out the slot
 * @return #ZLMDB_OK, #ZLMDB_TRUNCATED (shorter than 2 bytes) or #ZLMDB_EINVAL.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_key_decode_slot(const void *data, size_t len, uint16_t *slot_out);
/** @} */

/* ================================================================ CBOR */

/** @name CBOR encoder
 *  Primitives appending RFC 8949 items to a #zlmdb_buf, in the exact form
 *  Python's cbor2 (default options) writes: shortest heads, definite lengths,
 *  finite floats as 8-byte doubles.  A driver composes values from them;
 *  docs/codecs.md lists the byte form of every Python type.  On failure
 *  each leaves the buffer's size as it was.
 *  @{ */

/**
 * @brief Append an unsigned integer (major type 0).
 * @param[in,out] out the buffer
 * @param[in] v the value
 * @return #ZLMDB_OK or #ZLMDB_ENOMEM.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_cbor_encode_uint(zlmdb_buf *out, uint64_t v);

/**
 * @brief Append the negative integer -1 - n (major type 1).
 * @param[in,out] out the buffer
 * @param[in] n the raw argument: -1 - n is the value, so n = UINT64_MAX
 *            gives -2^64.
 * @return #ZLMDB_OK or #ZLMDB_ENOMEM.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_cbor_encode_negint(zlmdb_buf *out, uint64_t n);

/**
 * @brief Append a signed 64-bit integer (major type 0 or 1).
 * @param[in,out] out the buffer
 * @param[in] v the value
 * @return #ZLMDB_OK or #ZLMDB_ENOMEM.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_cbor_encode_int(zlmdb_buf *out, int64_t v);

/**
 * @brief Append an integer of any size given as a big-endian magnitude.
 *
 * Writes what cbor2 writes for a Python int: a plain integer when it fits
 * in 64 bits, else tag 2 (positive) or 3 (negative) over the minimal
 * big-endian bytes.  Leading zero bytes of `mag` are ignored.
 *
 * @param[in,out] out the buffer
 * @param[in] negative 0: the value is `mag`; nonzero: the value is -1 - `mag`
 *            (so for a Python int v < 0 pass the bytes of -1 - v = ~v)
 * @param[in] mag big-endian magnitude (may be NULL when `len` is 0)
 * @param[in] len its length
 * @return #ZLMDB_OK, #ZLMDB_EINVAL or #ZLMDB_ENOMEM.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_cbor_encode_bigint(zlmdb_buf *out, int negative,
                                           const unsigned char *mag, size_t len);

/**
 * @brief Append a byte string (major type 2).
 * @param[in,out] out the buffer
 * @param[in] data the bytes (may be NULL when `len` is 0)
 * @param[in] len their number
 * @return #ZLMDB_OK, #ZLMDB_EINVAL or #ZLMDB_ENOMEM.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_cbor_encode_bytes(zlmdb_buf *out, const void *data, size_t len);

/**
 * @brief Append a text string (major type 3), checking that it is UTF-8.
 * @param[in,out] out the buffer
 * @param[in] text UTF-8 (may be NULL when `len` is 0)
 * @param[in] len its length in bytes
 * @return #ZLMDB_OK, #ZLMDB_ENCODE (not valid UTF-8), #ZLMDB_EINVAL or
 *         #ZLMDB_ENOMEM.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_cbor_encode_text(zlmdb_buf *out, const char *text, size_t len);

/**
 * @brief Append a text string without checking the UTF-8.
 *
 * For text that is valid by construction (e.g. from
 * PyUnicode_AsUTF8AndSize()), to skip the second pass.
 *
 * @param[in,out] out the buffer
 * @param[in] text UTF-8 the caller vouches for
 * @param[in] len its length in bytes
 * @return #ZLMDB_OK, #ZLMDB_EINVAL or #ZLMDB_ENOMEM.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_cbor_encode_text_unchecked(zlmdb_buf *out, const char *text,
                                                   size_t len);

/**
 * @brief Append the head of a definite-length array (major type 4).
 * @param[in,out] out the buffer
 * @param[in] count number of items that will follow
 * @return #ZLMDB_OK or #ZLMDB_ENOMEM.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_cbor_encode_array(zlmdb_buf *out, uint64_t count);

/**
 * @brief Append the head of a definite-length map (major type 5).
 * @param[in,out] out the buffer
 * @param[in] count number of key/value pairs that will follow
 * @return #ZLMDB_OK or #ZLMDB_ENOMEM.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_cbor_encode_map(zlmdb_buf *out, uint64_t count);

/**
 * @brief Append a tag (major type 6); the tagged item follows.
 * @param[in,out] out the buffer
 * @param[in] tag the tag number
 * @return #ZLMDB_OK or #ZLMDB_ENOMEM.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_cbor_encode_tag(zlmdb_buf *out, uint64_t tag);

/**
 * @brief Append false (0xf4) or true (0xf5).
 * @param[in,out] out the buffer
 * @param[in] v zero for false
 * @return #ZLMDB_OK or #ZLMDB_ENOMEM.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_cbor_encode_bool(zlmdb_buf *out, int v);

/**
 * @brief Append null (0xf6).
 * @param[in,out] out the buffer
 * @return #ZLMDB_OK or #ZLMDB_ENOMEM.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_cbor_encode_null(zlmdb_buf *out);

/**
 * @brief Append undefined (0xf7).
 * @param[in,out] out the buffer
 * @return #ZLMDB_OK or #ZLMDB_ENOMEM.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_cbor_encode_undefined(zlmdb_buf *out);

/**
 * @brief Append a simple value (major type 7).
 * @param[in,out] out the buffer
 * @param[in] v 0..19 or 32..255 (20..23 are false/true/null/undefined and
 *            24..31 are reserved)
 * @return #ZLMDB_OK, #ZLMDB_EINVAL or #ZLMDB_ENOMEM.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_cbor_encode_simple(zlmdb_buf *out, unsigned v);

/**
 * @brief Append a float as cbor2 does.
 *
 * Finite values (including -0.0) become 8-byte doubles (0xfb); any NaN
 * becomes f9 7e00, +inf f9 7c00 and -inf f9 fc00.
 *
 * @param[in,out] out the buffer
 * @param[in] v the value
 * @return #ZLMDB_OK or #ZLMDB_ENOMEM.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_cbor_encode_double(zlmdb_buf *out, double v);
/** @} */

/** @name CBOR reader
 *  A bounded pull reader: zlmdb_cbor_reader_next() yields one item at a
 *  time, tracking nesting on an explicit stack (no recursion), so the caller
 *  builds its values with its own stack.  It never reads past the input.
 *  @{ */

/** What a #zlmdb_cbor_item is.  @since 0.1.0 */
typedef enum zlmdb_cbor_kind {
    ZLMDB_CBOR_EOF = 0,    /**< No more input after a complete item. */
    ZLMDB_CBOR_UINT,       /**< Unsigned integer `u`. */
    ZLMDB_CBOR_NEGINT,     /**< Negative integer -1 - `u`. */
    ZLMDB_CBOR_BYTES,      /**< Byte string `data`/`len`, or its start when `indefinite`. */
    ZLMDB_CBOR_TEXT,       /**< UTF-8 text `data`/`len`, or its start when `indefinite`. */
    ZLMDB_CBOR_ARRAY,      /**< Array start; `u` items follow unless `indefinite`. */
    ZLMDB_CBOR_MAP,        /**< Map start; `u` pairs follow unless `indefinite`. */
    ZLMDB_CBOR_TAG,        /**< Tag `u`; the tagged item is the next one. */
    ZLMDB_CBOR_SIMPLE,     /**< Unassigned simple value `u`. */
    ZLMDB_CBOR_FALSE,      /**< false */
    ZLMDB_CBOR_TRUE,       /**< true */
    ZLMDB_CBOR_NULL,       /**< null */
    ZLMDB_CBOR_UNDEFINED,  /**< undefined */
    ZLMDB_CBOR_FLOAT,      /**< Float `f`, `width` 2, 4 or 8 bytes in the input. */
    ZLMDB_CBOR_END         /**< End of the innermost array, map or indefinite string. */
} zlmdb_cbor_kind;

/** The default nesting limit when 0 is given to zlmdb_cbor_reader_init(). */
#define ZLMDB_CBOR_DEFAULT_MAX_DEPTH 1000

/** One item from zlmdb_cbor_reader_next().  @since 0.1.0 */
typedef struct zlmdb_cbor_item {
    zlmdb_cbor_kind kind;       /**< What it is. */
    int indefinite;             /**< ARRAY/MAP/BYTES/TEXT: indefinite length;
                                     the chunks or items follow, then END. */
    uint64_t u;                 /**< UINT value, NEGINT n, TAG number, ARRAY/MAP
                                     count, SIMPLE value. */
    const unsigned char *data;  /**< BYTES/TEXT: the bytes, inside the input. */
    size_t len;                 /**< BYTES/TEXT: their length. */
    double f;                   /**< FLOAT: the value. */
    unsigned width;             /**< FLOAT: 2, 4 or 8. */
    zlmdb_cbor_kind end_of;     /**< END: ARRAY, MAP, BYTES or TEXT. */
    size_t depth;               /**< Open containers around this item (0 = top). */
    size_t offset;              /**< Byte offset of the item in the input. */
    int done;                   /**< Nonzero: this item completes a top-level item. */
} zlmdb_cbor_item;

/** @cond internal */
typedef struct zlmdb__cbor_frame {
    uint64_t remaining; /* items (map: keys + values) still to come; definite only */
    unsigned char kind; /* zlmdb_cbor_kind of the container */
    unsigned char indefinite;
    unsigned char tagged; /* a tag is waiting for its item at this level */
} zlmdb__cbor_frame;
#define ZLMDB__CBOR_INLINE_FRAMES 16
/** @endcond */

/**
 * @brief The CBOR reader state.  Treat the fields as read-only.
 * @since 0.1.0
 */
typedef struct zlmdb_cbor_reader {
    const unsigned char *data; /**< The input. */
    size_t len;                /**< Its length. */
    size_t pos;                /**< Offset of the next unread byte. */
    size_t max_depth;          /**< Nesting limit. */
    size_t depth;              /**< Open containers. */
    size_t ntop;               /**< Complete top-level items read. */
    int error;                 /**< 0, or the sticky error code. */
    size_t error_offset;       /**< Offset of the error. */
    /** @cond internal */
    int top_tagged;
    zlmdb__cbor_frame *stack;
    size_t stack_cap;
    zlmdb__cbor_frame inline_stack[ZLMDB__CBOR_INLINE_FRAMES];
    /** @endcond */
} zlmdb_cbor_reader;

/**
 * @brief Start reading CBOR from `data`.
 * @param[out] reader the reader
 * @param[in] data the input, which must outlive the reader's items
 * @param[in] len its length
 * @param[in] max_depth the most containers open at once (arrays, maps and
 *            indefinite strings); 0 for #ZLMDB_CBOR_DEFAULT_MAX_DEPTH.
 * @return #ZLMDB_OK or #ZLMDB_EINVAL.
 * @note Release with zlmdb_cbor_reader_dispose().
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_cbor_reader_init(zlmdb_cbor_reader *reader, const void *data,
                                         size_t len, size_t max_depth);

/**
 * @brief Read the next item.
 *
 * Every ARRAY, MAP and indefinite BYTES/TEXT start is matched by exactly one
 * END, also for definite and empty containers.  The chunks of an
 * indefinite string arrive as definite BYTES/TEXT items.  After a
 * complete top-level item the next call reads another one (a CBOR
 * sequence) or gives EOF; use zlmdb_cbor_reader_finish() to require
 * exactly one.
 *
 * @param[in,out] reader the reader
 * @param[out] out the item
 * @return #ZLMDB_OK, #ZLMDB_TRUNCATED (input ends inside an item, or a count
 *         larger than the rest of the input could hold), #ZLMDB_DECODE
 *         (reserved or invalid encodings, invalid UTF-8, stray break),
 *         #ZLMDB_TOO_DEEP or #ZLMDB_ENOMEM.  Errors are sticky and carry the
 *         offset in `error_offset` and in zlmdb_error_last().
 * @note `out->data` points into the input (borrowed).
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_cbor_reader_next(zlmdb_cbor_reader *reader, zlmdb_cbor_item *out);

/**
 * @brief Check that exactly one complete item was read and nothing follows.
 * @param[in,out] reader the reader
 * @return #ZLMDB_OK, #ZLMDB_TRUNCATED (the item is incomplete or none was
 *         read), #ZLMDB_DECODE (trailing bytes) or the reader's sticky error.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_cbor_reader_finish(zlmdb_cbor_reader *reader);

/**
 * @brief Release the reader's memory; the reader may be re-initialised.
 * @param[in,out] reader the reader; may be NULL.
 * @since 0.1.0
 */
ZLMDB_EXTERN(void) zlmdb_cbor_reader_dispose(zlmdb_cbor_reader *reader);

/**
 * @brief Check a whole CBOR document: one well-formed item, nothing after.
 * @param[in] data the input
 * @param[in] len its length
 * @param[in] max_depth as for zlmdb_cbor_reader_init()
 * @return as zlmdb_cbor_reader_next() and zlmdb_cbor_reader_finish().
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_cbor_validate(const void *data, size_t len, size_t max_depth);
/** @} */

/* ================================================================ JSON */

/** @name JSON encoder
 *  Primitives appending JSON text to a #zlmdb_buf, so that a driver can
 *  produce exactly what Python's `json.dumps(obj, separators=(",", ":"),
 *  ensure_ascii=False).encode()` produces.  Punctuation (`[ ] { } , :`) the
 *  driver appends itself with zlmdb_buf_append().  On failure each leaves
 *  the buffer's size as it was.
 *  @{ */

/**
 * @brief Append a quoted, escaped string as json.dumps(ensure_ascii=False).
 *
 * Short escapes for `"` `\\` `\n` `\r` `\t` `\b` `\f`; other bytes below
 * 0x20 as `\u00XX` (lowercase hex); every other byte (DEL, UTF-8
 * sequences) unchanged.
 *
 * @param[in,out] out the buffer
 * @param[in] text UTF-8; it is not checked (bytes >= 0x80 are copied)
 * @param[in] len its length in bytes
 * @return #ZLMDB_OK, #ZLMDB_EINVAL or #ZLMDB_ENOMEM.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_json_encode_string(zlmdb_buf *out, const char *text, size_t len);

/**
 * @brief Append a signed integer in decimal.
 * @param[in,out] out the buffer
 * @param[in] v the value
 * @return #ZLMDB_OK or #ZLMDB_ENOMEM.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_json_encode_int64(zlmdb_buf *out, int64_t v);

/**
 * @brief Append an unsigned integer in decimal.
 * @param[in,out] out the buffer
 * @param[in] v the value
 * @return #ZLMDB_OK or #ZLMDB_ENOMEM.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_json_encode_uint64(zlmdb_buf *out, uint64_t v);

/** Enough room for any zlmdb_json_format_double() result plus NUL. */
#define ZLMDB_JSON_DOUBLE_MAX 32

/**
 * @brief Format a double exactly as Python's `float.__repr__` (and json).
 *
 * Shortest digits that read back to the same double; scientific notation
 * when the decimal exponent is below -4 or at least 16 (`1e+16`, `1e-05`);
 * whole numbers get `.0`; `-0.0`; `NaN`, `Infinity`, `-Infinity`.
 * The result does not depend on the process locale (`LC_NUMERIC`).
 *
 * @param[in] v the value
 * @param[out] out at least #ZLMDB_JSON_DOUBLE_MAX bytes; NUL-terminated
 * @return the length written, without the NUL.
 * @since 0.1.0
 */
ZLMDB_EXTERN(size_t) zlmdb_json_format_double(double v, char *out);

/**
 * @brief Append a double as zlmdb_json_format_double() formats it.
 * @param[in,out] out the buffer
 * @param[in] v the value
 * @return #ZLMDB_OK or #ZLMDB_ENOMEM.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_json_encode_double(zlmdb_buf *out, double v);

/**
 * @brief Append `true`, `false` or `null`.
 * @param[in,out] out the buffer
 * @param[in] v 0: false, 1: true, anything else: null
 * @return #ZLMDB_OK or #ZLMDB_ENOMEM.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_json_encode_literal(zlmdb_buf *out, int v);
/** @} */

/** @name JSON reader
 *  A bounded, non-recursive pull reader over UTF-8 JSON, accepting what
 *  Python's json.loads accepts (including NaN, Infinity, -Infinity), with
 *  strict UTF-8 input and no BOM.
 *  @{ */

/** What a #zlmdb_json_item is.  @since 0.1.0 */
typedef enum zlmdb_json_kind {
    ZLMDB_JSON_EOF = 0,          /**< Only whitespace after the complete value. */
    ZLMDB_JSON_OBJECT_START,     /**< `{` */
    ZLMDB_JSON_OBJECT_END,       /**< `}` */
    ZLMDB_JSON_ARRAY_START,      /**< `[` */
    ZLMDB_JSON_ARRAY_END,        /**< `]` */
    ZLMDB_JSON_KEY,              /**< An object key, `str`/`len`. */
    ZLMDB_JSON_STRING,           /**< A string value, `str`/`len`. */
    ZLMDB_JSON_NUMBER,           /**< A number: its text `str`/`len`, `is_float`. */
    ZLMDB_JSON_TRUE,             /**< `true` */
    ZLMDB_JSON_FALSE,            /**< `false` */
    ZLMDB_JSON_NULL,             /**< `null` */
    ZLMDB_JSON_NAN,              /**< `NaN` */
    ZLMDB_JSON_INFINITY,         /**< `Infinity` */
    ZLMDB_JSON_NEG_INFINITY      /**< `-Infinity` */
} zlmdb_json_kind;

/** The default nesting limit when 0 is given to zlmdb_json_reader_init(). */
#define ZLMDB_JSON_DEFAULT_MAX_DEPTH 1000

/** One item from zlmdb_json_reader_next().  @since 0.1.0 */
typedef struct zlmdb_json_item {
    zlmdb_json_kind kind; /**< What it is. */
    const char *str;      /**< KEY/STRING: unescaped UTF-8; NUMBER: its text. */
    size_t len;           /**< Length of `str` in bytes. */
    int is_float;         /**< NUMBER: has a fraction or exponent (Python float). */
    int has_surrogates;   /**< KEY/STRING: contains a lone surrogate from a
                               `\uD800`-`\uDFFF` escape, as 3-byte generalized
                               UTF-8 (ED A0 80 ...): decode with 'surrogatepass'. */
    size_t depth;         /**< Open containers around this item (0 = top). */
    size_t offset;        /**< Byte offset of the item in the input. */
    int done;             /**< Nonzero: this item completes the top-level value. */
} zlmdb_json_item;

/**
 * @brief The JSON reader state.  Treat the fields as read-only.
 * @since 0.1.0
 */
typedef struct zlmdb_json_reader {
    const unsigned char *data; /**< The input. */
    size_t len;                /**< Its length. */
    size_t pos;                /**< Offset of the next unread byte. */
    size_t max_depth;          /**< Nesting limit. */
    int error;                 /**< 0, or the sticky error code. */
    size_t error_offset;       /**< Offset of the error. */
    /** @cond internal */
    int state;
    zlmdb_buf stack;   /* one byte per open container: '[' or '{' */
    zlmdb_buf scratch; /* unescaped strings */
    /** @endcond */
} zlmdb_json_reader;

/**
 * @brief Start reading JSON from `data`.
 * @param[out] reader the reader
 * @param[in] data UTF-8 input, which must outlive the reader's items
 * @param[in] len its length
 * @param[in] max_depth the most arrays/objects open at once; 0 for
 *            #ZLMDB_JSON_DEFAULT_MAX_DEPTH.
 * @return #ZLMDB_OK or #ZLMDB_EINVAL.
 * @note Release with zlmdb_json_reader_dispose().
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_json_reader_init(zlmdb_json_reader *reader, const void *data,
                                         size_t len, size_t max_depth);

/**
 * @brief Read the next item.
 * @param[in,out] reader the reader
 * @param[out] out the item
 * @return #ZLMDB_OK, #ZLMDB_DECODE (syntax, invalid UTF-8, control character
 *         in a string, bad escape, extra data after the value),
 *         #ZLMDB_TRUNCATED (input ends inside the value), #ZLMDB_TOO_DEEP or
 *         #ZLMDB_ENOMEM.  Errors are sticky and carry the offset in
 *         `error_offset` and in zlmdb_error_last().
 * @note `out->str` points into the input or into the reader's scratch
 *       buffer: valid until the next call on this reader.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_json_reader_next(zlmdb_json_reader *reader, zlmdb_json_item *out);

/**
 * @brief Check that the value is complete and only whitespace follows.
 * @param[in,out] reader the reader
 * @return #ZLMDB_OK, #ZLMDB_TRUNCATED, #ZLMDB_DECODE or the sticky error.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_json_reader_finish(zlmdb_json_reader *reader);

/**
 * @brief Release the reader's memory; the reader may be re-initialised.
 * @param[in,out] reader the reader; may be NULL.
 * @since 0.1.0
 */
ZLMDB_EXTERN(void) zlmdb_json_reader_dispose(zlmdb_json_reader *reader);

/**
 * @brief Check a whole JSON document.
 * @param[in] data the input
 * @param[in] len its length
 * @param[in] max_depth as for zlmdb_json_reader_init()
 * @return as zlmdb_json_reader_next() and zlmdb_json_reader_finish().
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_json_validate(const void *data, size_t len, size_t max_depth);
/** @} */

/* ================================================================ tables */

/** @name Tables and indexes
 *  A table is the set of records in one slot of an LMDB database: every
 *  physical key is the 2-byte big-endian slot followed by the record's
 *  encoded primary key (a #zlmdb_key_desc layout), the layout of zlmdb's
 *  ORM and of upstream zlmdb.  Values are opaque bytes to the table, except
 *  that declared indexes read fields of CBOR map values.
 *
 *  An index is a second slot mapping an index key, built from fields of the
 *  record's CBOR value or by a key callback, to the record's encoded
 *  primary key (or what a value callback makes).  The table keeps its
 *  indexes in step: a put either writes the record and every index entry,
 *  or fails before writing anything (null, uniqueness and key-size checks
 *  run first).  If LMDB itself fails part way (e.g. `MDB_MAP_FULL`), LMDB
 *  marks the transaction failed and zlmdb_table_writes.midway is 1: only
 *  abort is possible, and a half-written record can never be committed.
 *
 *  Tables are not thread-safe: use one from one thread at a time (like the
 *  LMDB transaction it works in).
 *  @{ */

/** A table handle.  @since 0.1.0 */
typedef struct zlmdb_table zlmdb_table;

/** The current version of #zlmdb_table_options. */
#define ZLMDB_TABLE_OPTIONS_VERSION 2u

/** How to create a table.  @since 0.1.0 */
typedef struct zlmdb_table_options {
    unsigned version;      /**< #ZLMDB_TABLE_OPTIONS_VERSION (1 has no `engine`). */
    uint16_t slot;         /**< 1 .. 65535 (slot 0 holds zlmdb's registry). */
    zlmdb_key_desc key;    /**< Layout of the primary key. */
    /** The engine whose transactions the table's functions are given: the
     *  one the environment was opened with.  NULL (and version 1 options)
     *  mean the LMDB 0.9 engine of `lmdb.h`'s `mdb_*` functions.
     *  @since 0.2.0 */
    const zlmdb_engine *engine;
} zlmdb_table_options;

/** Initializer for #zlmdb_table_options. */
#define ZLMDB_TABLE_OPTIONS_INIT { ZLMDB_TABLE_OPTIONS_VERSION, 0, \
    { 0, { (zlmdb_key_type)0 } }, NULL }

/** One record, as an index callback sees it.  @since 0.3.0 */
typedef struct zlmdb_record {
    MDB_val key;       /**< The encoded primary key, without the 2-byte slot prefix. */
    MDB_val value;     /**< The record's bytes as stored (or about to be stored). */
    /** For the record being written: the `user` pointer given to
     *  zlmdb_table_put_encoded().  NULL for a record the table read from
     *  the database (the old record of an update or delete, a rebuild). */
    const void *user;
} zlmdb_record;

/**
 * @brief Computes a record's key in one index.
 * Appends the encoded index key (without the slot prefix) for `rec` to
 * `out`, or sets `*is_null` to 1 and appends nothing when the record has no
 * entry in this index (an error for a non-nullable index: #ZLMDB_NULL_KEY).
 * @return #ZLMDB_OK, or an error code: #ZLMDB_CALLBACK when the caller's own
 *         code failed, any other code to pass on as it is.
 * @since 0.3.0
 */
typedef int (*zlmdb_index_key_fn)(void *ctx, const zlmdb_record *rec, zlmdb_buf *out,
                                  int *is_null);

/**
 * @brief Computes the value of a record's index entry (what points back at
 *        the record).  Appends it to `out`.
 * @return #ZLMDB_OK or an error code, as #zlmdb_index_key_fn.
 * @since 0.3.0
 */
typedef int (*zlmdb_index_value_fn)(void *ctx, const zlmdb_record *rec, zlmdb_buf *out);

/** The current version of #zlmdb_index_options (1 has no callbacks). */
#define ZLMDB_INDEX_OPTIONS_VERSION 2u

/** How to declare an index.  @since 0.1.0 */
typedef struct zlmdb_index_options {
    unsigned version;      /**< #ZLMDB_INDEX_OPTIONS_VERSION */
    const char *name;      /**< Unique among the table's indexes; copied. */
    uint16_t slot;         /**< The index's own slot, different from the table's. */
    zlmdb_key_desc key;    /**< Layout of the index key. */
    /** For each component of `key`: the name of the top-level text key of
     *  the record's CBOR map holding it, or NULL for "the record's primary
     *  key" (the table's key must then have one component of the same
     *  type).  Names are copied.  Conversions: unsigned types and OID from
     *  CBOR unsigned integers; TIMESTAMP from integers (nanoseconds); UUID
     *  from tag 37 or plain 16-byte byte strings, or canonical text
     *  ("xxxxxxxx-xxxx-..."); BYTES16/20/32 from byte strings of that size;
     *  STRING from text.  A missing field or CBOR null makes the key null. */
    const char *fields[ZLMDB_KEY_MAX_COMPONENTS];
    int unique;            /**< Refuse a second record with the same index key. */
    int nullable;          /**< A null key means "no entry" instead of an error. */
    /** The index key's extractor.  NULL: the key is built from `fields`
     *  (CBOR), as with version 1 options.  When set, `key` and `fields` are
     *  not used (`key.ncomp` may be 0).  @since 0.3.0 */
    zlmdb_index_key_fn key_fn;
    /** The index entry's value.  NULL: the record's encoded primary key.
     *  @since 0.3.0 */
    zlmdb_index_value_fn value_fn;
    void *ctx;             /**< Passed to `key_fn` and `value_fn`.  @since 0.3.0 */
} zlmdb_index_options;

/** Initializer for #zlmdb_index_options. */
#define ZLMDB_INDEX_OPTIONS_INIT { ZLMDB_INDEX_OPTIONS_VERSION, NULL, 0, \
    { 0, { (zlmdb_key_type)0 } }, { NULL }, 0, 0, NULL, NULL, NULL }

/** What one write did.  @since 0.3.0 */
typedef struct zlmdb_table_writes {
    size_t puts;        /**< LMDB puts made: the record and index entries. */
    size_t dels;        /**< LMDB deletes that removed a key, index entries included. */
    /** On #ZLMDB_UNIQUE, #ZLMDB_NULL_KEY or an index callback's error: that
     *  index's name (borrowed from the table); otherwise NULL. */
    const char *index;
    /** 1 when the call failed after its first write: the transaction holds
     *  part of the operation and must be aborted.  LMDB has then marked the
     *  transaction failed, so a commit is refused. */
    int midway;
} zlmdb_table_writes;

/** zlmdb_table_put() flag: fail with `MDB_KEYEXIST` if the record exists. */
#define ZLMDB_PUT_NOOVERWRITE 0x1u

/**
 * @brief Create a table over database `dbi` (zlmdb uses the main DB).
 * @param[out] out the new table; free with zlmdb_table_free().
 * @param[in] dbi an LMDB database handle, opened by the caller with the
 *            default (byte-wise) key order.
 * @param[in] opts the options, copied.
 * @return #ZLMDB_OK, #ZLMDB_EINVAL (bad version, slot 0, invalid key
 *         layout) or #ZLMDB_ENOMEM.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_table_new(zlmdb_table **out, MDB_dbi dbi,
                                  const zlmdb_table_options *opts);

/**
 * @brief Free a table and its index declarations (not their data).
 * @param[in] table the table; may be NULL.
 * @since 0.1.0
 */
ZLMDB_EXTERN(void) zlmdb_table_free(zlmdb_table *table);

/**
 * @brief Declare an index; existing records are not indexed until
 *        zlmdb_table_rebuild_index() runs.
 * @param[in,out] table the table
 * @param[in] opts the declaration, copied.
 * @return #ZLMDB_OK, #ZLMDB_EINVAL (bad options, duplicate name or slot,
 *         field list not matching `key`) or #ZLMDB_ENOMEM.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_table_add_index(zlmdb_table *table, const zlmdb_index_options *opts);

/**
 * @brief Write a record and keep every index in step.
 * @param[in] table the table
 * @param[in] txn a write transaction
 * @param[in] key the primary key's component values
 * @param[in] value the record's bytes (a CBOR map when indexes are declared)
 * @param[in] len their length
 * @param[in] flags 0 or #ZLMDB_PUT_NOOVERWRITE
 * @return #ZLMDB_OK; `MDB_KEYEXIST` (with #ZLMDB_PUT_NOOVERWRITE);
 *         #ZLMDB_UNIQUE, #ZLMDB_NULL_KEY or `MDB_BAD_VALSIZE` (nothing was
 *         written); key errors as zlmdb_key_encode(); #ZLMDB_DECODE when an
 *         indexed record is not valid CBOR; or an LMDB error (then the
 *         transaction must be aborted).
 * @note Since 0.3.0 it encodes the key and calls zlmdb_table_put_encoded(),
 *       which says whether a failure came after the first write.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_table_put(zlmdb_table *table, MDB_txn *txn,
                                  const zlmdb_key_value *key, const void *value,
                                  size_t len, unsigned flags);

/**
 * @brief Read a record.
 * @param[in] table the table
 * @param[in] txn a transaction
 * @param[in] key the primary key's component values
 * @param[out] value_out the record's bytes.
 * @return #ZLMDB_OK, #ZLMDB_NOTFOUND, key errors or an LMDB error.
 * @note The value points into the map (borrowed): it is valid until the
 *       transaction ends or the next write in it.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_table_get(zlmdb_table *table, MDB_txn *txn,
                                  const zlmdb_key_value *key, MDB_val *value_out);

/**
 * @brief Delete a record and its index entries.
 * @param[in] table the table
 * @param[in] txn a write transaction
 * @param[in] key the primary key's component values
 * @return #ZLMDB_OK, #ZLMDB_NOTFOUND, key errors, #ZLMDB_DECODE or an LMDB
 *         error (then the transaction must be aborted).
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_table_delete(zlmdb_table *table, MDB_txn *txn,
                                     const zlmdb_key_value *key);

/**
 * @brief Count records whose first `nprefix` key components equal `prefix`
 *        (all records when `nprefix` is 0).
 * @param[in] table the table
 * @param[in] txn a transaction
 * @param[in] prefix `nprefix` component values (may be NULL when `nprefix` is 0)
 * @param[in] nprefix 0 .. the number of key components
 * @param[out] count_out the number of records.
 * @return #ZLMDB_OK, key errors or an LMDB error.
 * @note O(n) in the records counted: LMDB keeps no counts per range.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_table_count(zlmdb_table *table, MDB_txn *txn,
                                    const zlmdb_key_value *prefix, unsigned nprefix,
                                    size_t *count_out);

/**
 * @brief Count records with `from` <= key < `to`.
 * @param[in] table the table
 * @param[in] txn a transaction
 * @param[in] from full key (null components count as zero), or NULL for
 *            the first record.
 * @param[in] to full key, or NULL for past the last record.
 * @param[out] count_out the number of records.
 * @return #ZLMDB_OK, key errors or an LMDB error.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_table_count_range(zlmdb_table *table, MDB_txn *txn,
                                          const zlmdb_key_value *from,
                                          const zlmdb_key_value *to, size_t *count_out);

/**
 * @brief Delete every record of the table and every entry of its indexes.
 * @param[in] table the table
 * @param[in] txn a write transaction
 * @param[out] deleted_out number of records deleted; may be NULL.
 * @return #ZLMDB_OK or an LMDB error (then the transaction must be aborted).
 * @note Only this table's slots are touched.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_table_truncate(zlmdb_table *table, MDB_txn *txn,
                                       size_t *deleted_out);

/**
 * @brief Empty an index and index every record again.
 * @param[in] table the table
 * @param[in] txn a write transaction
 * @param[in] name the index
 * @param[out] deleted_out entries removed; may be NULL.
 * @param[out] inserted_out entries written; may be NULL.
 * @return #ZLMDB_OK, #ZLMDB_NOTFOUND (no such index), #ZLMDB_UNIQUE,
 *         #ZLMDB_NULL_KEY, #ZLMDB_DECODE or an LMDB error (then the
 *         transaction must be aborted).
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_table_rebuild_index(zlmdb_table *table, MDB_txn *txn,
                                            const char *name, size_t *deleted_out,
                                            size_t *inserted_out);

/**
 * @brief Find the primary key an index key points at.
 * @param[in] table the table
 * @param[in] txn a transaction
 * @param[in] name the index
 * @param[in] ikey the index key's component values
 * @param[out] pk_out the record's encoded primary key (borrowed, as for
 *             zlmdb_table_get()); decode it with zlmdb_key_decode().
 * @return #ZLMDB_OK, #ZLMDB_NOTFOUND, key errors or an LMDB error.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_table_index_get(zlmdb_table *table, MDB_txn *txn, const char *name,
                                        const zlmdb_key_value *ikey, MDB_val *pk_out);

/**
 * @brief Write a record given its encoded primary key, and keep every index
 *        in step.
 *
 * Order of work: (1) read the old record; (2) compute every new and old
 * index key and value (callbacks or CBOR fields); (3) check every
 * constraint (unique, nullable) and every key's size against the
 * environment's maximum key size -- all before the first write, so a
 * refused put writes nothing; (4) delete stale index entries, write the new
 * ones, write the record.
 * @param[in] table the table
 * @param[in] txn a write transaction
 * @param[in] pk the encoded primary key, without the slot prefix
 * @param[in] value the record's bytes; not a pointer into the map (a value
 *            read in this transaction): index entries are written first,
 *            and a write may move what such a pointer points at.
 * @param[in] len their length
 * @param[in] user handed to the index callbacks as zlmdb_record.user for
 *            this record; may be NULL.
 * @param[in] flags 0 or #ZLMDB_PUT_NOOVERWRITE
 * @param[out] writes what was written (zeroed first); may be NULL.
 * @return #ZLMDB_OK; `MDB_KEYEXIST` (with #ZLMDB_PUT_NOOVERWRITE);
 *         `MDB_BAD_VALSIZE` (a key over the maximum size), #ZLMDB_UNIQUE,
 *         #ZLMDB_NULL_KEY, #ZLMDB_DECODE, #ZLMDB_CALLBACK or a callback's
 *         code -- all with nothing written; or an LMDB error, after which,
 *         when `writes->midway` is 1, the transaction must be aborted.
 * @since 0.3.0
 */
ZLMDB_EXTERN(int) zlmdb_table_put_encoded(zlmdb_table *table, MDB_txn *txn, const MDB_val *pk,
                                          const void *value, size_t len, const void *user,
                                          unsigned flags, zlmdb_table_writes *writes);

/**
 * @brief Delete a record and its index entries, given its encoded primary
 *        key.  Every old index key is computed before the first delete.
 * @param[in] table the table
 * @param[in] txn a write transaction
 * @param[in] pk the encoded primary key, without the slot prefix
 * @param[out] writes what was deleted (zeroed first); may be NULL.
 * @return #ZLMDB_OK, #ZLMDB_NOTFOUND, #ZLMDB_DECODE, #ZLMDB_CALLBACK (nothing
 *         deleted) or an LMDB error (abort when `writes->midway` is 1).
 * @since 0.3.0
 */
ZLMDB_EXTERN(int) zlmdb_table_delete_encoded(zlmdb_table *table, MDB_txn *txn,
                                             const MDB_val *pk, zlmdb_table_writes *writes);

/**
 * @brief Count records with `from` <= key < `to`, keys encoded without the
 *        slot prefix.
 * @param[in] table the table
 * @param[in] txn a transaction
 * @param[in] from the lower bound, or NULL for the first record
 * @param[in] to the upper bound (excluded), or NULL for past the last one
 * @param[out] count_out the number of records.
 * @return #ZLMDB_OK, #ZLMDB_EINVAL or an LMDB error.
 * @since 0.3.0
 */
ZLMDB_EXTERN(int) zlmdb_table_count_encoded(zlmdb_table *table, MDB_txn *txn,
                                            const MDB_val *from, const MDB_val *to,
                                            size_t *count_out);

/** A range iterator over a table.  @since 0.1.0 */
typedef struct zlmdb_table_iter zlmdb_table_iter;

/**
 * @brief Iterate over records with `from` <= key < `to`, in key order or,
 *        with `reverse`, from the last one below `to` down to `from`.
 * @param[out] out the iterator; free with zlmdb_table_iter_free() before
 *             the transaction ends.
 * @param[in] table the table
 * @param[in] txn a transaction
 * @param[in] from full key (null components count as zero) or NULL.
 * @param[in] to full key or NULL.
 * @param[in] reverse nonzero to walk in descending key order
 * @return #ZLMDB_OK, key errors, #ZLMDB_ENOMEM or an LMDB error.
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_table_iter_open(zlmdb_table_iter **out, zlmdb_table *table,
                                        MDB_txn *txn, const zlmdb_key_value *from,
                                        const zlmdb_key_value *to, int reverse);

/**
 * @brief The next record.
 * @param[in] iter the iterator
 * @param[out] key_out the encoded primary key, without the slot prefix.
 * @param[out] value_out the record's bytes.
 * @return #ZLMDB_OK, #ZLMDB_NOTFOUND at the end, or an LMDB error.
 * @note Both point into the map (borrowed), as for zlmdb_table_get().
 * @since 0.1.0
 */
ZLMDB_EXTERN(int) zlmdb_table_iter_next(zlmdb_table_iter *iter, MDB_val *key_out,
                                        MDB_val *value_out);

/**
 * @brief Free an iterator.
 * @param[in] iter the iterator; may be NULL.
 * @since 0.1.0
 */
ZLMDB_EXTERN(void) zlmdb_table_iter_free(zlmdb_table_iter *iter);
/** @} */

/* ================================================================ verify */

/** @name Offline verification
 *  Checks an LMDB data file (`data.mdb`) from its bytes alone, without
 *  handing it to LMDB: no `mdb_*` function runs, nothing is mapped, and
 *  the file is opened read-only.  This is the check to run on a file from
 *  an untrusted source before opening it, and the checks are those of
 *  py-lmdb 3.0's `lmdb.verify`: both meta pages and the choice of the
 *  committed one; a walk of every tree from the committed roots (the free
 *  database, the main database, named databases, duplicate sub-pages and
 *  sub-databases, LEAF2 pages, overflow pages) with the bounds of every
 *  page and node, the key order under each database's comparator and each
 *  database's counters; no dirty page at rest; and that the free pages and
 *  the reachable pages are disjoint and together cover every page up to
 *  the last one in use.
 *
 *  Both formats are understood: LMDB 0.9 (data format 1, 16-byte page
 *  headers) and LMDB 1.0 (data format 3, 24-byte page headers).  The file
 *  must come from a 64-bit build of this host's byte order; other files
 *  are refused with #ZLMDB_VERIFY_UNSUPPORTED and a message naming what was
 *  found.  Work and memory are bounded by the file's size: the walk never
 *  goes deeper than LMDB's cursor stack (32 levels), a page reached twice
 *  is a problem rather than a loop, and nothing is read outside the file.
 *
 *  A passed check is a statement about the file as it was read: verify a
 *  private copy that no untrusted writer can change afterwards, and let
 *  LMDB create a fresh lock file for it.
 *  @{ */

/** The result of a verification: problems, format and counts.  @since 0.2.0 */
typedef struct zlmdb_verify_report zlmdb_verify_report;

/** The current version of #zlmdb_verify_options. */
#define ZLMDB_VERIFY_OPTIONS_VERSION 1u

/** How to verify.  @since 0.2.0 */
typedef struct zlmdb_verify_options {
    unsigned version;      /**< #ZLMDB_VERIFY_OPTIONS_VERSION */
    /** Problems recorded before the walk stops; 0 means
     *  #ZLMDB_VERIFY_MAX_PROBLEMS.  When one more is found, the line
     *  "... (further errors suppressed)" is added and the walk ends early
     *  (the summary's `complete` is then 0). */
    size_t max_problems;
    /** Treat the file as this many bytes long (no byte at or beyond it is
     *  read); 0 means its current size.  Ignored by zlmdb_verify_buffer(). */
    uint64_t file_size;
} zlmdb_verify_options;

/** Initializer for #zlmdb_verify_options. */
#define ZLMDB_VERIFY_OPTIONS_INIT { ZLMDB_VERIFY_OPTIONS_VERSION, 0, 0 }

/** The default cap on recorded problems (the one py-lmdb uses). */
#define ZLMDB_VERIFY_MAX_PROBLEMS 200

/** The current version of #zlmdb_verify_summary. */
#define ZLMDB_VERIFY_SUMMARY_VERSION 1u

/** What a verification found, besides its problems.  @since 0.2.0 */
typedef struct zlmdb_verify_summary {
    unsigned version;          /**< Set by the caller: #ZLMDB_VERIFY_SUMMARY_VERSION */
    int lmdb_major;            /**< 0 for an LMDB 0.9 file, 1 for LMDB 1.0 */
    int lmdb_minor;            /**< 9 for LMDB 0.9, 0 for LMDB 1.0 */
    unsigned data_version;     /**< The meta pages' format number: 1 or 3 */
    unsigned page_header_size; /**< 16 (LMDB 0.9) or 24 (LMDB 1.0) bytes */
    unsigned page_size;        /**< From meta page 0 */
    unsigned meta_page;        /**< The committed meta page: 0 or 1 */
    uint64_t txnid;            /**< The committed transaction */
    uint64_t last_pgno;        /**< The last page in use (mm_last_pg) */
    uint64_t map_size;         /**< The map size the meta page records */
    uint64_t file_size;        /**< Bytes considered (see #zlmdb_verify_options) */
    uint64_t pages_reachable;  /**< Pages reached from the committed roots */
    uint64_t pages_free;       /**< Pages the free database lists */
    uint64_t branch_pages;     /**< Branch pages walked, in all trees */
    uint64_t leaf_pages;       /**< Leaf pages walked, in all trees */
    uint64_t overflow_pages;   /**< Overflow pages reached, in all trees */
    uint64_t entries;          /**< Items the main database holds (walked) */
    uint64_t databases;        /**< Named databases walked */
    size_t problems;           /**< As zlmdb_verify_report_problem_count() */
    /** 1 when every check ran to its end; 0 when the problem cap stopped
     *  the walk, so that pages after that point were not looked at. */
    int complete;
} zlmdb_verify_summary;

/** Initializer for #zlmdb_verify_summary. */
#define ZLMDB_VERIFY_SUMMARY_INIT { ZLMDB_VERIFY_SUMMARY_VERSION, 0, 0, 0, 0, 0, 0, \
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }

/**
 * @brief Verify the data file of an environment.
 *
 * @param[in] path an environment directory, or a data file itself.
 * @param[in] subdir 1: `path` is a directory holding `data.mdb`; 0: `path`
 *            is the data file (an environment opened with `MDB_NOSUBDIR`);
 *            -1: decide by whether `path` is a directory.
 * @param[in] opts the options, or NULL for the defaults.
 * @param[out] out the report, on #ZLMDB_OK and #ZLMDB_VERIFY_FAILED (NULL
 *             otherwise); the caller owns it and frees it with
 *             zlmdb_verify_report_free().
 * @return #ZLMDB_OK (no problem found), #ZLMDB_VERIFY_FAILED (the report
 *         lists the problems), #ZLMDB_VERIFY_UNSUPPORTED (not an LMDB file,
 *         or one this verifier does not handle: zlmdb_error_last() says
 *         what was found), an `errno` value when the file cannot be opened
 *         or read (`ENOENT`, `EACCES`, `EISDIR`, `EIO`...), #ZLMDB_EINVAL
 *         or #ZLMDB_ENOMEM.
 * @note The file is only read; its lock file is neither read nor created.
 * @since 0.2.0
 */
ZLMDB_EXTERN(int) zlmdb_verify_path(const char *path, int subdir,
                                    const zlmdb_verify_options *opts,
                                    zlmdb_verify_report **out);

/**
 * @brief Verify the data file open on a file descriptor.
 *
 * Reads with `pread()` only, so the descriptor's offset is left alone.
 *
 * @param[in] fd a descriptor open for reading on a regular file; not closed.
 * @param[in] opts the options, or NULL for the defaults.
 * @param[out] out as for zlmdb_verify_path().
 * @return as zlmdb_verify_path().
 * @since 0.2.0
 */
ZLMDB_EXTERN(int) zlmdb_verify_fd(int fd, const zlmdb_verify_options *opts,
                                  zlmdb_verify_report **out);

/**
 * @brief Verify a data file image held in memory.
 *
 * @param[in] data the file's bytes (may be NULL when `len` is 0); only
 *            read, and not referenced by the report.
 * @param[in] len how many
 * @param[in] opts the options, or NULL for the defaults.
 * @param[out] out as for zlmdb_verify_path().
 * @return as zlmdb_verify_path(), without the `errno` cases.
 * @since 0.2.0
 */
ZLMDB_EXTERN(int) zlmdb_verify_buffer(const void *data, size_t len,
                                      const zlmdb_verify_options *opts,
                                      zlmdb_verify_report **out);

/**
 * @brief Free a report.
 * @param[in] report the report; may be NULL.
 * @since 0.2.0
 */
ZLMDB_EXTERN(void) zlmdb_verify_report_free(zlmdb_verify_report *report);

/**
 * @brief How many problems the report lists.
 * @param[in] report the report
 * @return the count, including a final "... (further errors suppressed)"
 *         line when the cap was reached; 0 for a file that passed.
 * @since 0.2.0
 */
ZLMDB_EXTERN(size_t) zlmdb_verify_report_problem_count(const zlmdb_verify_report *report);

/**
 * @brief One problem, as a sentence naming the database, page and node.
 * @param[in] report the report
 * @param[in] i 0 .. zlmdb_verify_report_problem_count() - 1, in the order found
 * @return a NUL-terminated string borrowed from the report (valid until it
 *         is freed), or NULL when `i` is out of range.
 * @since 0.2.0
 */
ZLMDB_EXTERN(const char *) zlmdb_verify_report_problem(const zlmdb_verify_report *report,
                                                       size_t i);

/**
 * @brief The format found and the counts of the walk.
 * @param[in] report the report
 * @param[in,out] out a summary whose `version` the caller has set (use
 *                #ZLMDB_VERIFY_SUMMARY_INIT); the other fields are filled.
 * @return #ZLMDB_OK, or #ZLMDB_EINVAL for a NULL argument or an unknown
 *         version.
 * @since 0.2.0
 */
ZLMDB_EXTERN(int) zlmdb_verify_report_summary(const zlmdb_verify_report *report,
                                              zlmdb_verify_summary *out);

/** zlmdb_verify_report_page_state(): the page is reachable from a root. */
#define ZLMDB_VERIFY_PAGE_REACHABLE 0x1u
/** zlmdb_verify_report_page_state(): the free database lists the page. */
#define ZLMDB_VERIFY_PAGE_FREE      0x2u

/**
 * @brief What the walk found a page to be.
 *
 * In a sound file every page from 2 to `last_pgno` is exactly one of
 * reachable or free; pages 0 and 1 are the meta pages (state 0).
 *
 * @param[in] report the report
 * @param[in] pgno a page number
 * @return a combination of #ZLMDB_VERIFY_PAGE_REACHABLE and
 *         #ZLMDB_VERIFY_PAGE_FREE; 0 for a page that is neither, or beyond
 *         `last_pgno`.
 * @since 0.2.0
 */
ZLMDB_EXTERN(unsigned) zlmdb_verify_report_page_state(const zlmdb_verify_report *report,
                                                       uint64_t pgno);
/** @} */

/* ============================================================== registry */

/** @name Slot registry and catalog
 *  A zlmdb database keeps its tables in slots of one LMDB database (the
 *  main one): every key of slot `s` starts with `s` as 2 big-endian bytes.
 *  Slot 0 describes the others.
 *
 *  - **Registry records**, one per table, at the 4-byte key `00 00` +
 *    slot: a CBOR map `{"oid": text, "name": text, ["description": text,]
 *    "creator": text|null, "slot": uint}`, byte for byte what upstream
 *    zlmdb writes and reads, so either program opens the other's files.
 *  - **The catalog**, one record at the 3-byte key #ZLMDB_CATALOG_KEY:
 *    a CBOR map from slot number (uint) to a free-form entry (one CBOR
 *    item), where zlmdb records each table's map type, value codec and
 *    indexes.  Upstream zlmdb reads only keys of 4 or more bytes in slot 0,
 *    so it neither sees nor disturbs the catalog.
 *
 *  Every function works inside a transaction the caller gives, begun with
 *  `eng` (NULL: the LMDB 0.9 engine of `lmdb.h`), on `dbi` (the main
 *  database for a zlmdb database).  A write and the reads it depends on
 *  happen in that one transaction, so two processes that attach tables at
 *  once are serialised by LMDB's writer lock and never share a slot.
 *  @{ */

/** The catalog's key in slot 0 (3 bytes: shorter than any registry key). */
#define ZLMDB_CATALOG_KEY "\x00\x00\x01"
/** Its length. */
#define ZLMDB_CATALOG_KEY_LEN 3

/** The current version of #zlmdb_slot_record. */
#define ZLMDB_SLOT_RECORD_VERSION 1u

/** A table's registry record, as zlmdb_registry_attach() writes it.
 *  @since 0.3.0 */
typedef struct zlmdb_slot_record {
    unsigned version;        /**< #ZLMDB_SLOT_RECORD_VERSION */
    const char *oid;         /**< The table's UUID in canonical text form (required). */
    const char *name;        /**< Its name (required). */
    const char *description; /**< Its description; NULL or "" for none. */
    const char *creator;     /**< Who created it; NULL is written as CBOR null. */
} zlmdb_slot_record;

/** Initializer for #zlmdb_slot_record. */
#define ZLMDB_SLOT_RECORD_INIT { ZLMDB_SLOT_RECORD_VERSION, NULL, NULL, NULL, NULL }

/** zlmdb_registry_attach() flag: find the table only, never write (for a
 *  read-only transaction); a missing table is #ZLMDB_NOTFOUND. */
#define ZLMDB_REGISTRY_FIND_ONLY 0x1u

/**
 * @brief Find a table's slot by its oid, or register it in a new slot.
 *
 * Reads slot 0 and, when no registry record has `rec->oid`, writes one for
 * the slot after the highest registered one (1 for an empty registry), all
 * in `txn`.  Records that are not CBOR maps with an "oid" are skipped.
 *
 * @param[in] eng the engine `txn` was begun with, or NULL
 * @param[in] txn a write transaction (a read-only one with
 *            #ZLMDB_REGISTRY_FIND_ONLY)
 * @param[in] dbi the database holding the slots
 * @param[in] rec the table's record; only `oid` is used to find it
 * @param[in] flags 0 or #ZLMDB_REGISTRY_FIND_ONLY
 * @param[out] slot_out the table's slot
 * @param[out] created_out 1 when the record was written now, else 0; may be NULL
 * @return #ZLMDB_OK; #ZLMDB_NOTFOUND (with #ZLMDB_REGISTRY_FIND_ONLY, or
 *         slot 65535 is taken and no slot is left); #ZLMDB_EINVAL (missing
 *         oid or name); or an LMDB error (a failed write: abort the txn).
 * @since 0.3.0
 */
ZLMDB_EXTERN(int) zlmdb_registry_attach(const zlmdb_engine *eng, MDB_txn *txn, MDB_dbi dbi,
                                        const zlmdb_slot_record *rec, unsigned flags,
                                        uint16_t *slot_out, int *created_out);

/** zlmdb_registry_foreach() callback: called once per registry key (4-byte
 *  keys of slot 0) in slot order, `record` is the stored value (borrowed).
 *  Return 0 to go on, anything else to stop (zlmdb_registry_foreach()
 *  returns it). */
typedef int (*zlmdb_registry_cb)(uint16_t slot, const MDB_val *record, void *payload);

/**
 * @brief Visit every registry record.
 * @param[in] eng the engine `txn` was begun with, or NULL
 * @param[in] txn a transaction
 * @param[in] dbi the database holding the slots
 * @param[in] cb called for each record, in slot order
 * @param[in] payload passed to `cb`
 * @return #ZLMDB_OK, what `cb` returned to stop, or an LMDB error.
 * @note `record` points into the map (borrowed): valid until the
 *       transaction ends or the next write in it.
 * @since 0.3.0
 */
ZLMDB_EXTERN(int) zlmdb_registry_foreach(const zlmdb_engine *eng, MDB_txn *txn, MDB_dbi dbi,
                                         zlmdb_registry_cb cb, void *payload);

/**
 * @brief The whole catalog record: a CBOR map from slot to entry.
 * @param[in] eng the engine `txn` was begun with, or NULL
 * @param[in] txn a transaction
 * @param[in] dbi the database holding the slots
 * @param[out] out the record's bytes.
 * @return #ZLMDB_OK, #ZLMDB_NOTFOUND (the database has no catalog) or an
 *         LMDB error.
 * @note `out` points into the map (borrowed): valid until the transaction
 *       ends or the next write in it.
 * @since 0.3.0
 */
ZLMDB_EXTERN(int) zlmdb_catalog_read(const zlmdb_engine *eng, MDB_txn *txn, MDB_dbi dbi,
                                     MDB_val *out);

/**
 * @brief One slot's catalog entry.
 * @param[in] eng the engine `txn` was begun with, or NULL
 * @param[in] txn a transaction
 * @param[in] dbi the database holding the slots
 * @param[in] slot the slot
 * @param[out] entry_out the entry's CBOR bytes, inside the catalog record.
 * @return #ZLMDB_OK, #ZLMDB_NOTFOUND (no entry), #ZLMDB_DECODE (the
 *         catalog record is not a CBOR map of uint keys) or an LMDB error.
 * @note `entry_out` points into the map (borrowed): valid until the
 *       transaction ends or the next write in it.
 * @since 0.3.0
 */
ZLMDB_EXTERN(int) zlmdb_catalog_get(const zlmdb_engine *eng, MDB_txn *txn, MDB_dbi dbi,
                                    uint16_t slot, MDB_val *entry_out);

/**
 * @brief Set or remove one slot's catalog entry, keeping the others.
 * @param[in] eng the engine `txn` was begun with, or NULL
 * @param[in] txn a write transaction
 * @param[in] dbi the database holding the slots
 * @param[in] slot the slot, 1 .. 65535
 * @param[in] entry one CBOR item, copied; NULL removes the entry
 * @param[in] len its length
 * @return #ZLMDB_OK; #ZLMDB_EINVAL (slot 0, or `entry` is not exactly one
 *         well-formed CBOR item); #ZLMDB_DECODE or #ZLMDB_TRUNCATED (the
 *         stored catalog is not a CBOR map of uint keys: nothing is
 *         written); #ZLMDB_ENOMEM; or an LMDB error (then the transaction
 *         must be aborted).
 * @since 0.3.0
 */
ZLMDB_EXTERN(int) zlmdb_catalog_put(const zlmdb_engine *eng, MDB_txn *txn, MDB_dbi dbi,
                                    uint16_t slot, const void *entry, size_t len);

/**
 * @brief Count the keys of a slot.
 * @param[in] eng the engine `txn` was begun with, or NULL
 * @param[in] txn a transaction
 * @param[in] dbi the database holding the slots
 * @param[in] slot the slot (0 counts the registry and the catalog)
 * @param[out] count_out the number of keys.
 * @return #ZLMDB_OK or an LMDB error.
 * @note O(n) in the keys counted: LMDB keeps no counts per range.
 * @since 0.3.0
 */
ZLMDB_EXTERN(int) zlmdb_slot_count(const zlmdb_engine *eng, MDB_txn *txn, MDB_dbi dbi,
                                   uint16_t slot, size_t *count_out);

/**
 * @brief Delete every key of a slot, and nothing after it.
 * @param[in] eng the engine `txn` was begun with, or NULL
 * @param[in] txn a write transaction
 * @param[in] dbi the database holding the slots
 * @param[in] slot the slot
 * @param[out] deleted_out the number of keys deleted; may be NULL.
 * @return #ZLMDB_OK or an LMDB error (then the transaction must be aborted).
 * @since 0.3.0
 */
ZLMDB_EXTERN(int) zlmdb_slot_clear(const zlmdb_engine *eng, MDB_txn *txn, MDB_dbi dbi,
                                   uint16_t slot, size_t *deleted_out);
/** @} */

#ifdef __cplusplus
}
#endif

#endif /* ZLMDB_H */
