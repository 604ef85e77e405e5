"""``verify()`` of the offline verifier, on PyPy: the CFFI counterpart of
src/ext/verify.c, with its arguments, result and errors, so that
``zlmdb.lmdb.verify`` runs unchanged over it.  libzlmdb does the work."""
import os

from zlmdb._lmdb_cffi import ffi, lib
from zlmdb._cffi.errors import lib_error


def _summary(s):
    return {"lib_version": "1.0" if s.lmdb_major else "0.9", "data_version": s.data_version,
            "page_header_size": s.page_header_size, "page_size": s.page_size,
            "meta_page": s.meta_page, "txnid": s.txnid, "last_pgno": s.last_pgno,
            "map_size": s.map_size, "file_size": s.file_size,
            "pages_reachable": s.pages_reachable, "pages_free": s.pages_free,
            "branch_pages": s.branch_pages, "leaf_pages": s.leaf_pages,
            "overflow_pages": s.overflow_pages, "entries": s.entries,
            "databases": s.databases, "complete": bool(s.complete)}


def _result(report, want_pages):
    s = ffi.new("zlmdb_verify_summary *")
    s.version = lib.ZLMDB_VERIFY_SUMMARY_VERSION
    lib.zlmdb_verify_report_summary(report, s)
    n = lib.zlmdb_verify_report_problem_count(report)
    problems = [ffi.string(lib.zlmdb_verify_report_problem(report, i)).decode(
        "utf-8", "replace") for i in range(n)]
    pages = None
    if want_pages:
        npages = s.last_pgno + 1
        nbytes = (npages + 7) // 8
        live = ffi.new("unsigned char[]", nbytes)
        freed = ffi.new("unsigned char[]", nbytes)
        lib.zl_verify_pages(report, npages, live, freed)
        pages = (ffi.buffer(live)[:], ffi.buffer(freed)[:])
    return (None, problems, _summary(s), pages)


def verify(source, file_size=None, max_problems=0, pages=False):
    """verify(source, file_size=0, max_problems=0, pages=False)

    Verify an LMDB data file without opening it through LMDB: the tuple
    (message, problems, info, pages) of zlmdb._native.verify()."""
    opts = ffi.new("zlmdb_verify_options *")
    opts.version = lib.ZLMDB_VERIFY_OPTIONS_VERSION
    if file_size is not None:
        opts.file_size = file_size
    if max_problems < 0:
        raise ValueError("max_problems must not be negative")
    opts.max_problems = max_problems
    out = ffi.new("zlmdb_verify_report **")
    if isinstance(source, int):
        if source < 0 or source > 2 ** 31 - 1:
            raise ValueError("source is not a file descriptor")
        rc = lib.zlmdb_verify_fd(source, opts, out)
    else:
        data = ffi.from_buffer(source)
        rc = lib.zlmdb_verify_buffer(data, len(data), opts, out)
    if rc in (0, lib.ZLMDB_VERIFY_FAILED):
        try:
            return _result(out[0], pages)
        finally:
            lib.zlmdb_verify_report_free(out[0])
    if rc == lib.ZLMDB_VERIFY_UNSUPPORTED:
        return (ffi.string(lib.zlmdb_error_last()).decode("utf-8", "replace"),
                None, None, None)
    if rc in (lib.ZLMDB_ENOMEM, lib.ZLMDB_EINVAL):
        raise lib_error(ValueError, rc)
    if rc > 0:
        raise OSError(rc, os.strerror(rc))
    raise lib_error(RuntimeError, rc, "verify")
