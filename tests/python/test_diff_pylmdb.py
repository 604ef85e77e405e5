"""Differential tests: hypothesis-generated operation sequences are applied to
zlmdb.lmdb and to py-lmdb (each on a fresh env with the same arguments) and
every step's outcome must be identical: the returned value (bytes and
memoryview kept apart) or the exception class and message.  At the end the
whole content of every database is compared too."""
import shutil
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from difftools import MODULES, compare, outcome

SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))

# ------------------------------------------------------------ the alphabet

COMMON_KEYS = st.sampled_from([b"a", b"b", b"c", b"ab", b"ba"])
KEYS = st.one_of(
    COMMON_KEYS, COMMON_KEYS, COMMON_KEYS,
    st.sampled_from([b"a", b"b", b"c"]),
    st.sampled_from([b"", "a", b"k" * 511, b"k" * 512, 7, None, 1.5,
                     bytearray(b"b"), memoryview(b"c")]),
)
COMMON_VALUES = st.sampled_from([b"", b"1", b"2", b"12", b"21"])
VALUES = st.one_of(
    COMMON_VALUES, COMMON_VALUES, COMMON_VALUES,
    st.sampled_from([b"v" * 600, "s", None, 3, bytearray(b"2")]),
)
FLAGS = st.sampled_from([True, False, None, 0, 1, 2.5, "yes"])
DBNAMES = st.sampled_from([None, "main", "plain", "dup", "fix", "rev", "int", "bad"])
STYLE = st.sampled_from(["kw", "pos", "pos", "mixed"])
EXTRA = st.one_of(st.just(None), st.just(None), st.just(None),
                  st.sampled_from(["unknown", "dup", "toomany"]))
IDX = st.integers(0, 7)

# Named databases: the name, its open_db flags and how keys/values must be
# shaped so LMDB's own contract holds (integer keys of 4 bytes, fixed-size
# duplicates) -- violating that is undefined in LMDB itself.
DBS = {
    "plain": (b"plain", {}),
    "dup": (b"dup", {"dupsort": True}),
    "fix": (b"fix", {"dupfixed": True}),
    "rev": (b"rev", {"reverse_key": True}),
    "int": (b"int", {"integerkey": True}),
}


def shape_key(kind, k):
    if kind == "int" and isinstance(k, (bytes, bytearray, memoryview)) and len(k):
        return bytes(k)[:4].ljust(4, b"\0")
    return k


def shape_value(kind, v):
    if kind == "fix" and isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)[:2].ljust(2, b"_")
    return v


def opt(**kw):
    return st.fixed_dictionaries({}, optional=kw)


SIGS = {
    "get": ["key", "default", "db"],
    "put": ["key", "value", "dupdata", "overwrite", "append", "db"],
    "delete": ["key", "value", "db"],
    "replace": ["key", "value", "db"],
    "pop": ["key", "db"],
    "stat": ["db"],
    "drop": ["db", "delete"],
    "cursor": ["db"],
    "c.put": ["key", "value", "dupdata", "overwrite", "append"],
    "c.putmulti": ["items", "dupdata", "overwrite", "append"],
    "c.replace": ["key", "value"],
    "c.pop": ["key"],
    "c.delete": ["dupdata"],
    "c.get": ["key", "default"],
    "c.getmulti": ["keys", "dupdata", "dupfixed_bytes", "keyfixed", "values"],
    "c.set_key_dup": ["key", "value"],
    "c.set_range_dup": ["key", "value"],
    "c.iter": ["keys", "values"],
    "begin": ["db", "parent", "write", "buffers"],
    "open_db": ["key", "txn", "reverse_key", "dupsort", "create", "integerkey",
                "integerdup", "dupfixed"],
}

ITEMS = st.lists(st.one_of(st.tuples(KEYS, VALUES), st.tuples(KEYS, VALUES),
                           st.sampled_from([[b"a", b"1"], (b"a",), b"ab"])),
                 max_size=6)
KEYLIST = st.lists(KEYS, max_size=5)
SIZES = st.sampled_from([0, 1, 2, 3, 4, None, -1, True, "2"])

TXN_ARGS = {
    "get": opt(key=KEYS, default=st.sampled_from([b"D", None, 0]), db=DBNAMES),
    "put": opt(key=KEYS, value=VALUES, dupdata=FLAGS, overwrite=FLAGS, append=FLAGS,
               db=DBNAMES),
    "delete": opt(key=KEYS, value=VALUES, db=DBNAMES),
    "replace": opt(key=KEYS, value=VALUES, db=DBNAMES),
    "pop": opt(key=KEYS, db=DBNAMES),
    "stat": opt(db=DBNAMES),
    "drop": opt(db=DBNAMES, delete=FLAGS),
    "cursor": opt(db=DBNAMES),
}
CURSOR_ARGS = {
    "c.put": opt(key=KEYS, value=VALUES, dupdata=FLAGS, overwrite=FLAGS, append=FLAGS),
    "c.putmulti": opt(items=ITEMS, dupdata=FLAGS, overwrite=FLAGS, append=FLAGS),
    "c.replace": opt(key=KEYS, value=VALUES),
    "c.pop": opt(key=KEYS),
    "c.delete": opt(dupdata=FLAGS),
    "c.get": opt(key=KEYS, default=st.sampled_from([b"D", None])),
    "c.getmulti": opt(keys=KEYLIST, dupdata=FLAGS, dupfixed_bytes=SIZES, keyfixed=FLAGS,
                      values=FLAGS),
    "c.set_key_dup": opt(key=KEYS, value=VALUES),
    "c.set_range_dup": opt(key=KEYS, value=VALUES),
}
MOVES = ["first", "last", "next", "prev", "first_dup", "last_dup", "next_dup",
         "prev_dup", "next_nodup", "prev_nodup", "key", "value", "item", "count",
         "close"]
ITERS = ["iternext", "iternext_dup", "iternext_nodup", "iterprev", "iterprev_dup",
         "iterprev_nodup", "__iter__"]

OPS = st.one_of(
    st.tuples(st.just("begin"), opt(write=FLAGS, buffers=FLAGS,
                                    db=st.sampled_from([None, "main", "dup", "fix", "bad"]),
                                    parent=IDX), STYLE, EXTRA),
    st.tuples(st.just("begin"), opt(write=st.just(True)), STYLE, st.just(None)),
    st.tuples(st.just("begin"), opt(write=st.just(True), parent=IDX), STYLE,
              st.just(None)),
    *[st.tuples(st.just("tcall"), IDX, st.just(m), a, STYLE, EXTRA)
      for m, a in TXN_ARGS.items()],
    st.tuples(st.just("tend"), IDX, st.sampled_from(["commit", "abort", "id", "enter",
                                                     "exit_ok", "exit_exc"])),
    st.tuples(st.just("cursor"), IDX, DBNAMES, st.sampled_from(["txn", "ctor", "ctor_kw"])),
    *[st.tuples(st.just("ccall"), IDX, st.just(m), a, STYLE, EXTRA)
      for m, a in CURSOR_ARGS.items()],
    st.tuples(st.just("move"), IDX, st.sampled_from(MOVES)),
    st.tuples(st.just("move"), IDX, st.sampled_from(MOVES)),
    st.tuples(st.just("set"), IDX, st.sampled_from(["set_key", "set_range"]), KEYS),
    st.tuples(st.just("iter"), IDX, st.sampled_from(ITERS), opt(keys=FLAGS, values=FLAGS),
              st.integers(0, 6), st.booleans()),
    st.tuples(st.just("iternext"), IDX, st.integers(1, 3)),
    st.tuples(st.just("open_db"), st.sampled_from(["plain", "dup", "fix", "rev", "int",
                                                   "nope", "main", "mismatch", "str"]),
              opt(create=FLAGS, txn=IDX), STYLE),
    st.tuples(st.just("env"), st.sampled_from(["stat", "info", "dbs", "dbs_txn", "readers",
                                               "flags", "sync", "max_key_size",
                                               "max_readers", "reader_check",
                                               "set_mapsize", "set_mapsize_kw",
                                               "close"])),
    st.tuples(st.just("flags"), DBNAMES, st.integers(0, 2)),
)


# --------------------------------------------------------------- the runner

def build_call(fn, sig, args, style, extra):
    """Call fn with `args` (name -> value) passed in `style`."""
    names = [n for n in sig if n in args]
    pos, kw = [], {}
    if style == "kw":
        kw = dict(args)
    else:
        last = -1
        if names:
            upto = names[-1] if style == "pos" else names[0]
            last = sig.index(upto)
        for n in sig[:last + 1]:
            pos.append(args.get(n))   # None fills gaps: means "default"
        kw = {n: args[n] for n in names if sig.index(n) > last}
    if extra == "unknown":
        kw["bogus"] = 1
    elif extra == "dup":
        if not pos:
            pos.append(None)
        kw[sig[0]] = pos[0]
    elif extra == "toomany":
        pos = pos + [None] * (len(sig) + 1 - len(pos))
    return fn(*pos, **kw)


class Runner:
    def __init__(self, mod, env, path):
        self.mod, self.env, self.path = mod, env, path
        self.log = []
        self.txns = []      # (txn, default db kind)
        self.curs = []      # (cursor, db kind)
        self.iters = []
        self.dbs = {"main": env.open_db()}
        for kind, (name, flags) in DBS.items():
            self.dbs[kind] = env.open_db(name, **flags)
        self.other = None

    def rec(self, fn):
        out = outcome(fn, (self.path,))
        self.log.append(out)
        return out

    def pick(self, seq, i):
        return seq[i % len(seq)] if seq else None

    def db_arg(self, name):
        if name == "bad":
            return "notadb"
        return self.dbs.get(name) if name is not None else None

    # ---- ops
    def op_begin(self, args, style, extra):
        a = dict(args)
        kind = a.get("db") if a.get("db") in self.dbs else "main"
        if "db" in a:
            a["db"] = self.db_arg(a["db"])
        if "parent" in a:
            p = self.pick(self.txns, a["parent"])
            a["parent"] = p[0] if p else None
        res = []

        def call():
            t = build_call(self.env.begin, SIGS["begin"], a, style, extra)
            res.append(t)
            return t
        self.rec(call)
        if res:
            self.txns.append((res[0], kind, bool(a.get("write")), a.get("parent")))

    def op_tcall(self, i, meth, args, style, extra):
        t = self.pick(self.txns, i)
        if t is None:
            return
        txn, default = t[:2]
        a = dict(args)
        kind = a.get("db") if a.get("db") in self.dbs else default
        if "db" in a:
            a["db"] = self.db_arg(a["db"])
        if "key" in a:
            a["key"] = shape_key(kind, a["key"])
        if "value" in a:
            a["value"] = shape_value(kind, a["value"])
        res = []

        def call():
            r = build_call(getattr(txn, meth), SIGS[meth], a, style, extra)
            res.append(r)
            return r
        self.rec(call)
        if meth == "cursor" and res:
            self.curs.append((res[0], kind))

    def op_tend(self, i, what):
        t = self.pick(self.txns, i)
        if t is None:
            return
        txn = t[0]
        if what in ("commit", "abort", "exit_ok", "exit_exc") and self.has_live_child(txn):
            # py-lmdb crashes (SIGBUS) when a parent ends before its child:
            # only ours is tested for that (test_lifetime.py).
            return
        if what == "commit":
            self.rec(txn.commit)
        elif what == "abort":
            self.rec(txn.abort)
        elif what == "id":
            self.rec(txn.id)
        elif what == "enter":
            self.rec(lambda: txn.__enter__() is txn)
        elif what == "exit_ok":
            self.rec(lambda: txn.__exit__(None, None, None))
        else:
            self.rec(lambda: txn.__exit__(ValueError, ValueError("x"), None))

    def op_cursor(self, i, dbname, how):
        t = self.pick(self.txns, i)
        if t is None:
            return
        txn, default = t[:2]
        kind = dbname if dbname in self.dbs else default
        db = self.db_arg(dbname)
        res = []

        def call():
            if how == "txn":
                c = txn.cursor(db)
            elif how == "ctor":
                c = self.mod.Cursor(db, txn)
            else:
                c = self.mod.Cursor(txn=txn, db=db)
            res.append(c)
            return c
        self.rec(call)
        if res:
            self.curs.append((res[0], kind))

    def op_ccall(self, i, meth, args, style, extra):
        c = self.pick(self.curs, i)
        if c is None:
            return
        cur, kind = c
        a = dict(args)
        if "key" in a:
            a["key"] = shape_key(kind, a["key"])
        if "value" in a:
            a["value"] = shape_value(kind, a["value"])
        if "items" in a:
            a["items"] = [(shape_key(kind, it[0]), shape_value(kind, it[1]))
                          if isinstance(it, tuple) and len(it) == 2 else it
                          for it in a["items"]]
        if "keys" in a:
            a["keys"] = [shape_key(kind, k) for k in a["keys"]]
        fn = getattr(cur, meth[2:])
        self.rec(lambda: build_call(fn, SIGS[meth], a, style, extra))

    def op_move(self, i, meth):
        c = self.pick(self.curs, i)
        if c is not None:
            self.rec(getattr(c[0], meth))

    def op_set(self, i, meth, key):
        c = self.pick(self.curs, i)
        if c is not None:
            key = shape_key(c[1], key)
            self.rec(lambda: getattr(c[0], meth)(key))

    def op_iter(self, i, meth, args, limit, keep):
        c = self.pick(self.curs, i)
        if c is None:
            return
        cur = c[0]
        res = []

        def call():
            if meth == "__iter__":
                it = iter(cur)
            else:
                it = build_call(getattr(cur, meth), SIGS["c.iter"], args, "kw", None)
            res.append(it)
            return it
        self.rec(call)
        if not res:
            return
        it = res[0]
        if keep:
            self.iters.append(it)
        for _ in range(limit):
            if self.rec(lambda: next(it))[0] != "ok":
                break

    def op_iternext(self, i, n):
        it = self.pick(self.iters, i)
        if it is None:
            return
        for _ in range(n):
            if self.rec(lambda: next(it))[0] != "ok":
                break

    def writer_alive(self):
        return any(w and outcome(t.id)[0] == "ok" for t, _, w, _ in self.txns)

    def live_txn(self, i):
        """A still-valid txn (py-lmdb's open_db/dbs/copy do not check the
        txn they are given and use freed memory otherwise), or None."""
        live = [t[0] for t in self.txns if outcome(t[0].id)[0] == "ok"]
        return self.pick(live, i)

    def has_live_child(self, txn):
        return any(p is txn and outcome(t.id)[0] == "ok" for t, _, _, p in self.txns)

    def op_open_db(self, which, args, style):
        a = dict(args)
        if a.get("txn") is None and self.writer_alive():
            # py-lmdb deadlocks here (its temporary write txn waits for the
            # writer lock this thread holds): not something to compare.
            return
        if "txn" in a:
            a["txn"] = self.live_txn(a["txn"])
        if which in DBS:
            name, flags = DBS[which]
            a.update(key=name, **flags)
        elif which == "nope":
            a["key"] = b"nope"
            a["create"] = False
        elif which == "main":
            a["key"] = None
            a["dupsort"] = True
        elif which == "mismatch":
            a["key"] = b"plain"
            a["dupsort"] = True
        else:
            a["key"] = "plain"
        res = []

        def call():
            d = build_call(self.env.open_db, SIGS["open_db"], a, style, None)
            res.append(d)
            return d
        self.rec(call)
        if res and which in DBS:
            self.dbs[which] = res[0]

    def op_env(self, what):
        e = self.env
        if what == "dbs_txn":
            t = self.live_txn(0)
            self.rec(lambda: e.dbs(t))
        elif what == "sync":
            self.rec(lambda: e.sync(True))
        elif what == "set_mapsize":
            self.rec(lambda: e.set_mapsize(1 << 23))
        elif what == "set_mapsize_kw":
            self.rec(lambda: e.set_mapsize(map_size=1 << 22))
        else:
            self.rec(getattr(e, what))

    def op_flags(self, dbname, nargs):
        db = self.dbs.get(dbname) or self.dbs["main"]
        self.rec(lambda: db.flags(*([None] * nargs)))

    def run(self, ops):
        for op in ops:
            getattr(self, "op_" + op[0])(*op[1:])
        self.finish()
        return self.log

    def finish(self):
        """Dump every database (through the handles we hold) in a new read
        txn; dropped handles record their error."""
        e = self.env
        self.iters.clear()
        self.curs.clear()
        for t in reversed(self.txns):   # children before their parents
            t[0].abort()
        self.txns.clear()
        self.rec(e.dbs)
        for kind in ["main", *DBS]:
            db = self.dbs[kind]

            def dump(db=db):
                with e.begin(db=db) as txn:
                    return list(txn.cursor()), txn.stat()["entries"]
            self.rec(dump)
        self.rec(lambda: sorted((k, v) for k, v in e.stat().items()))
        self.rec(lambda: e.info()["last_txnid"])


def run_both(tmp_path, ops, env_kwargs):
    logs = {}
    for name, mod in MODULES:
        p = str(tmp_path / name)
        kw = dict(map_size=1 << 22, max_dbs=8)
        kw.update(env_kwargs)
        env = mod.open(p, **kw)
        try:
            logs[name] = Runner(mod, env, p).run(ops)
        finally:
            env.close()
    return logs


NOSYNC = {"sync": False, "metasync": False}
# (sync=True only costs fsyncs here; the default flags are covered by the
# targeted tests.)
ENV_KWARGS = st.sampled_from([NOSYNC, NOSYNC, dict(NOSYNC, max_spare_txns=1),
                              dict(NOSYNC, writemap=True), dict(NOSYNC, map_async=True)])

# Every random sequence starts from some data and a few live objects:
# T0 committed fixture data; T1 a buffers read txn, T2 the write txn,
# T3 a read txn whose default db is the dupsort one; cursors on each db.
FIXTURE = [(b"a", b"1"), (b"a", b"2"), (b"b", b"12"), (b"c", b"2"), (b"ab", b"1")]
SETUP = ([("begin", {"write": True}, "kw", None)] +
         [("tcall", 0, "put", {"key": k, "value": v, "db": db}, "pos", None)
          for db in ("main", "plain", "dup", "fix", "rev", "int") for k, v in FIXTURE] +
         [("tend", 0, "commit"),
          ("begin", {"buffers": True}, "kw", None),
          ("begin", {"write": True}, "kw", None),
          ("begin", {"db": "dup"}, "kw", None)] +
         [("cursor", 2, db, "txn") for db in ("main", "plain", "dup", "fix", "rev", "int")] +
         [("cursor", 1, "dup", "txn"), ("cursor", 3, "dup", "ctor")])


_counter = [0]


def run_fresh(tmp_path_factory, ops, env_kwargs):
    """run_both in a new directory, removed afterwards (hypothesis makes
    hundreds of examples; leaving their envs behind slows pytest's tmp
    cleanup)."""
    _counter[0] += 1
    d = tmp_path_factory.mktemp("diff%d" % _counter[0])
    try:
        return run_both(d, ops, env_kwargs)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@settings(max_examples=500, **SETTINGS)
@given(ops=st.lists(OPS, min_size=5, max_size=40), env_kwargs=ENV_KWARGS)
def test_random_operation_sequences(tmp_path_factory, ops, env_kwargs):
    compare(run_fresh(tmp_path_factory, SETUP + ops, env_kwargs))


@settings(max_examples=150, **SETTINGS)
@given(ops=st.lists(OPS, max_size=25))
def test_random_operation_sequences_from_empty_env(tmp_path_factory, ops):
    compare(run_fresh(tmp_path_factory, ops, NOSYNC))


# A write-heavy mix: one write txn, several cursors on one db, many mutations
# interleaved with positioning and live iterators.
WRITE_OPS = st.one_of(
    *[st.tuples(st.just("ccall"), IDX, st.just(m), a, st.just("pos"), st.just(None))
      for m, a in CURSOR_ARGS.items()],
    st.tuples(st.just("tcall"), st.just(0), st.sampled_from(["put", "delete", "pop",
                                                              "replace"]),
              opt(key=KEYS, value=VALUES), st.just("pos"), st.just(None)),
    st.tuples(st.just("move"), IDX, st.sampled_from(MOVES[:-1])),
    st.tuples(st.just("set"), IDX, st.sampled_from(["set_key", "set_range"]), KEYS),
    st.tuples(st.just("iter"), IDX, st.sampled_from(ITERS), opt(), st.integers(0, 3),
              st.just(True)),
    st.tuples(st.just("iternext"), IDX, st.integers(1, 4)),
)


@settings(max_examples=300, **SETTINGS)
@given(db=st.sampled_from(["main", "plain", "dup", "fix", "rev", "int"]),
       buffers=st.booleans(),
       ops=st.lists(WRITE_OPS, max_size=40))
def test_mutation_during_cursor_use(tmp_path_factory, db, buffers, ops):
    setup = [("begin", {"write": True, "buffers": buffers, "db": db}, "kw", None),
             ("cursor", 0, db, "txn"), ("cursor", 0, db, "txn"),
             ("ccall", 0, "c.putmulti",
              {"items": [(b"a", b"1"), (b"b", b"2"), (b"b", b"1"), (b"c", b"12")]},
              "kw", None)]
    compare(run_fresh(tmp_path_factory, setup + ops, NOSYNC))


def test_build_call_styles():
    """The call builder itself: None fills positional gaps, extras apply."""
    def f(*a, **k):
        return a, k
    sig = ["a", "b", "c"]
    assert build_call(f, sig, {"c": 3}, "pos", None) == ((None, None, 3), {})
    assert build_call(f, sig, {"b": 2, "c": 3}, "mixed", None) == ((None, 2), {"c": 3})
    assert build_call(f, sig, {"a": 1}, "kw", "unknown") == ((), {"a": 1, "bogus": 1})
    assert build_call(f, sig, {}, "kw", "dup") == ((None,), {"a": None})
    assert build_call(f, sig, {}, "kw", "toomany") == ((None,) * 4, {})


def test_int_keys_shape():
    assert shape_key("int", b"ab") == b"ab\0\0"
    assert shape_key("int", b"") == b""
    assert shape_key("plain", b"ab") == b"ab"
    assert shape_value("fix", b"v" * 600) == b"vv"
    assert struct.calcsize("I") == 4


# ------------------------------------------------- targeted differentials
# Small fixed scenarios (found by the random runs or suspected from the
# code), each compared step by step against py-lmdb.

from difftools import assert_same  # noqa: E402


def _fill(txn, db=None, pairs=((b"a", b"1"), (b"b", b"1"), (b"c", b"1"), (b"d", b"1"))):
    for k, v in pairs:
        txn.put(k, v, db=db)


def test_putmulti_writes_items_before_a_bad_element(tmp_path):
    # py-lmdb puts element #0 and then raises on the non-tuple element #1.
    def action(mod, env, rec):
        txn = env.begin(write=True)
        cur = txn.cursor()
        rec(lambda: cur.putmulti([(b"a", b"1"), [b"b", b"2"]]))
        rec(lambda: list(txn.cursor()))
        items = [(b"k%03d" % i, b"v") for i in range(70)] + [b"bad"]
        rec(lambda: cur.putmulti(items))
        rec(lambda: txn.stat()["entries"])
        rec(lambda: cur.putmulti([(b"x" * 600, b"1"), (b"y",)]))
        txn.abort()
    assert_same(tmp_path, action)


def test_set_range_dup_error_keeps_cursor_position(tmp_path):
    def action(mod, env, rec):
        txn = env.begin(write=True)
        _fill(txn)
        cur = txn.cursor()
        rec(cur.first)
        rec(lambda: cur.set_range_dup(b"a", b"1"))   # IncompatibleError: not dupsort
        rec(cur.item)
        rec(cur.delete)
        rec(lambda: list(txn.cursor()))
        rec(lambda: cur.set_range_dup())
        rec(cur.item)
        txn.abort()
    assert_same(tmp_path, action)


def test_cursor_replace_on_dupsort_missing_key_leaves_no_position(tmp_path):
    def action(mod, env, rec):
        db = env.open_db(b"d", dupsort=True)
        txn = env.begin(write=True, db=db)
        _fill(txn)
        cur = txn.cursor()
        rec(lambda: cur.replace(b"ab", b"2"))
        rec(cur.item)
        rec(cur.key)
        rec(cur.value)
        rec(lambda: cur.replace(b"a", b"9"))
        rec(cur.item)
        rec(lambda: list(cur.iternext()))
        txn.abort()
    assert_same(tmp_path, action)


def test_live_iterator_stops_once_cursor_is_unpositioned(tmp_path):
    def action(mod, env, rec):
        txn = env.begin(write=True)
        _fill(txn)
        cur = txn.cursor()
        it = cur.iternext(values=False)
        rec(lambda: [next(it), next(it)])
        rec(lambda: cur.set_key(b"bb"))        # not found: unpositioned
        rec(lambda: list(it))
        it = cur.iterprev(values=False)
        rec(lambda: next(it))
        rec(cur.next)
        rec(lambda: list(it))
        it = cur.iternext()
        rec(lambda: next(it))
        rec(lambda: cur.set_key(b""))          # error: unpositioned
        rec(lambda: list(it))
        txn.abort()
    assert_same(tmp_path, action)


def test_failed_positioning_then_iterate_on_dupsort(tmp_path):
    def action(mod, env, rec):
        db = env.open_db(b"d", dupsort=True)
        for bad in ("set_key", "replace", "pop", "get", "set_key_dup", "first_dup"):
            txn = env.begin(write=True, db=db)
            _fill(txn, pairs=[(b"a", b"1"), (b"b", b"1"), (b"b", b"2"), (b"c", b"1")])
            cur = txn.cursor()
            it = cur.iternext()
            rec(lambda: [next(it), next(it)])
            call = {"set_key": lambda: cur.set_key(b""),
                    "replace": lambda: cur.replace(b"", b"x"),
                    "pop": lambda: cur.pop(b""),
                    "get": lambda: cur.get(b""),
                    "set_key_dup": lambda: cur.set_key_dup(b"", b""),
                    "first_dup": cur.first_dup}[bad]
            rec(call)
            rec(cur.item)
            rec(lambda: list(it))
            txn.abort()
    assert_same(tmp_path, action)


def test_positioning_and_refresh_after_writes(tmp_path):
    """Cursor key/value after put/delete through the txn or another cursor
    (the mutation counter), on a plain and a dupsort db."""
    def action(mod, env, rec):
        for db in (env.open_db(b"p"), env.open_db(b"d", dupsort=True)):
            txn = env.begin(write=True, db=db)
            _fill(txn, pairs=[(b"a", b"1"), (b"b", b"1"), (b"b", b"2"), (b"c", b"1")])
            c1, c2 = txn.cursor(), txn.cursor()
            rec(lambda: c1.set_key(b"b"))
            rec(lambda: c2.set_key(b"c"))
            rec(lambda: txn.delete(b"b"))
            rec(c1.item)
            rec(c2.item)
            rec(lambda: c2.put(b"bb", b"x"))
            rec(c2.item)
            rec(c1.item)
            rec(lambda: c1.delete())
            rec(c1.item)
            rec(lambda: txn.replace(b"a", b"new"))
            rec(c1.item)
            rec(lambda: txn.pop(b"c"))
            rec(c1.item)
            rec(c2.item)
            rec(lambda: list(c1.iterprev()))
            rec(lambda: txn.drop(db, delete=False))
            rec(c1.item)
            rec(c1.next)
            txn.abort()
    assert_same(tmp_path, action)
