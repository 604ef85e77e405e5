/* One LMDB engine's zlmdb_engine: the table of its entry points.
 *
 * This file is compiled once per engine, not with the rest of libzlmdb:
 * CMake builds it beside each engine's mdb.c with that engine's lmdb.h
 * first on the include path, and for a renamed engine with its renaming
 * header forced in (-include), so the `mdb_*` names below resolve to that
 * engine's functions.  ZLMDB_ENGINE_SYMBOL names the table (see engine.c),
 * ZLMDB_ENGINE_PATCHED says whether the hardening patches are in. */
#include "lmdb.h"
#include "zlmdb.h"

#ifndef ZLMDB_ENGINE_SYMBOL
#  error "ZLMDB_ENGINE_SYMBOL must name this engine's table"
#endif

/* Hidden: reached through zlmdb_engine_get(), never by name. */
__attribute__((visibility("hidden"))) const zlmdb_engine ZLMDB_ENGINE_SYMBOL = {
    ZLMDB_ENGINE_VERSION,
    MDB_VERSION_MAJOR,
    MDB_VERSION_MAJOR,
    MDB_VERSION_MINOR,
    MDB_VERSION_PATCH,
    /* LMDB 0.9 writes data format v1, 1.0 writes v3 (v2 was a development
     * format that no release reads). */
    MDB_VERSION_MAJOR >= 1 ? 3u : 1u,
    ZLMDB_ENGINE_PATCHED,
    mdb_version,
    mdb_strerror,
    mdb_env_create,
    mdb_env_open,
    mdb_env_copy,
    mdb_env_copyfd,
    mdb_env_copy2,
    mdb_env_copyfd2,
#if ZLMDB_ENGINE_PATCHED
    mdb_env_copy3,
    mdb_env_copyfd3,
#else
    NULL,
    NULL,
#endif
    mdb_env_stat,
    mdb_env_info,
    mdb_env_sync,
    mdb_env_close,
    mdb_env_set_flags,
    mdb_env_get_flags,
    mdb_env_get_path,
    mdb_env_get_fd,
    mdb_env_set_mapsize,
    mdb_env_set_maxreaders,
    mdb_env_get_maxreaders,
    mdb_env_set_maxdbs,
    mdb_env_get_maxkeysize,
    mdb_env_set_userctx,
    mdb_env_get_userctx,
    mdb_env_set_assert,
    mdb_txn_begin,
    mdb_txn_env,
    mdb_txn_id,
    mdb_txn_commit,
    mdb_txn_abort,
    mdb_txn_reset,
    mdb_txn_renew,
    mdb_dbi_open,
    mdb_stat,
    mdb_dbi_flags,
    mdb_dbi_close,
    mdb_drop,
    mdb_set_compare,
    mdb_set_dupsort,
    mdb_get,
    mdb_put,
    mdb_del,
    mdb_cursor_open,
    mdb_cursor_close,
    mdb_cursor_renew,
    mdb_cursor_txn,
    mdb_cursor_dbi,
    mdb_cursor_get,
    mdb_cursor_put,
    mdb_cursor_del,
    mdb_cursor_count,
    mdb_cmp,
    mdb_dcmp,
    mdb_reader_list,
    mdb_reader_check,
};
