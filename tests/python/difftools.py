"""Helpers for the differential tests: run the same calls against
zlmdb.lmdb and py-lmdb and compare what happened, step by step."""
import platform

import lmdb as pylmdb
import pytest

import zlmdb.lmdb as zl


_OBJ_TYPES = ("Environment", "Transaction", "Cursor", "_Database", "_Iterator")


def norm(value, paths=()):
    """A comparable, implementation-neutral picture of a returned value.

    bytes and memoryview are kept apart (type matters for drop-in), memory
    views are read at once (they may dangle later), lmdb objects become their
    type name, env paths and map addresses are blanked."""
    if isinstance(value, bytes):
        return ("bytes", value)
    if isinstance(value, memoryview):
        return ("memoryview", value.readonly, value.tobytes())
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, str):
        for p in paths:
            value = value.replace(p, "<PATH>")
        return ("str", value)
    if isinstance(value, tuple):
        return ("tuple",) + tuple(norm(v, paths) for v in value)
    if isinstance(value, list):
        return ["list"] + [norm(v, paths) for v in value]
    if isinstance(value, dict):
        return {k: norm(v, paths) for k, v in value.items() if k != "map_addr"}
    name = type(value).__name__
    if name in _OBJ_TYPES:
        return ("obj", name)
    return ("other", name, repr(value))


def outcome(fn, paths=()):
    """('ok', normalised result) or ('raise', class name, message)."""
    try:
        return ("ok", norm(fn(), paths))
    except StopIteration:
        return ("stop",)
    except Exception as exc:  # noqa: BLE001 - whatever is raised is compared
        msg = str(exc)
        for p in paths:
            msg = msg.replace(p, "<PATH>")
        return ("raise", type(exc).__name__, msg)


#: On PyPy py-lmdb is its cffi backend, which differs from its C extension
#: (the reference these comparisons are written against) in messages and in
#: the ways its docs list: there the comparisons are skipped, and py-lmdb's
#: own suite (make test-pypy) is the contract.
IS_PYPY = platform.python_implementation() == "PyPy"
PYPY_SKIP = ("pylmdb_cext: compares with py-lmdb's C extension; on PyPy py-lmdb is its "
             "cffi backend")
# On PyPy only ours runs (a crash would still show); compare() then skips.
MODULES = (("ours", zl),) if IS_PYPY else (("ours", zl), ("theirs", pylmdb))


def compare(results):
    """Assert that both implementations produced the same outcome list and
    point at the first step that differs."""
    if IS_PYPY:
        pytest.skip(PYPY_SKIP)
    ours, theirs = results["ours"], results["theirs"]
    diffs = ["step %d differs:\n  ours:   %r\n  theirs: %r" % (i, a, b)
             for i, (a, b) in enumerate(zip(ours, theirs)) if a != b]
    # The first difference is what matters; later ones may be consequences.
    assert not diffs, "\n".join(diffs[:6])
    assert len(ours) == len(theirs)


def both(tmp_path, action, env_kwargs=None, tag=""):
    """Run action(mod, env, rec) for each implementation on its own fresh env;
    rec(fn) records outcome(fn).  Returns {'ours': [...], 'theirs': [...]}."""
    results = {}
    for name, mod in MODULES:
        p = str(tmp_path / ("%s%s" % (name, tag)))
        kw = dict(map_size=1 << 22, max_dbs=8)
        kw.update(env_kwargs or {})
        env = mod.open(p, **kw)
        paths = (p,)
        log = []

        def rec(fn, _log=log, _paths=paths):
            out = outcome(fn, _paths)
            _log.append(out)
            return out
        try:
            rec(lambda: action(mod, env, rec))
        finally:
            env.close()
        results[name] = log
    if IS_PYPY:
        pytest.skip(PYPY_SKIP)
    return results


def assert_same(tmp_path, action, env_kwargs=None):
    res = both(tmp_path, action, env_kwargs)
    compare(res)
    return res["ours"]
