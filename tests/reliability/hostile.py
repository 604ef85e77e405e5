"""System 3: hostile call sequences.

fsm:    a hypothesis RuleBasedStateMachine interleaving env.close, txn
        commit/abort (incl. nested), cursor ops, iteration with mutation,
        set_mapsize, drop, buffers=True memoryviews kept past txn end (only
        len()/type are touched afterwards: reading a dangling view's contents
        may legitimately fault, in py-lmdb too), gc.collect() and background
        reader threads racing close()/set_mapsize().  Any Python exception from
        the API is acceptable; a crash (signal, sanitizer report) or a hang is
        not.  A few cheap model checks catch wrong results.
random: a seeded driver doing thousands of random API calls on random live or
        dead objects with random (often wrong) argument types.

Both run in a child process (this file), so a segfault is seen as a signal.
Usage as a child:  hostile.py random SEED CALLS [IMPL]
                   hostile.py fsm SEED EXAMPLES STEPS
"""
import gc
import os
import random
import shutil
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402


# --- the random driver ------------------------------------------------------

class Junk:
    def __bytes__(self):
        raise RuntimeError("no bytes for you")

    def __index__(self):
        raise RuntimeError("no index")

    def __bool__(self):
        raise RuntimeError("no truth value")


HOSTILE = [None, True, False, 0, 1, -1, 7, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 63 - 1, 2 ** 64,
           -2 ** 63, 1.5, float("nan"), "", "str", "ü" * 600, b"", b"k", b"\x00" * 511,
           b"\xff" * 512, b"v" * 5000, bytearray(b"ba"), memoryview(b"mv"),
           memoryview(b"abcdef")[::2], (), (b"a", b"b"), [(b"a", b"b")], [(b"a",)],
           [b"a", b"b"], {}, object(), Junk(), 1j, type, Exception()]

SIG = {  # method -> list of argument kinds, in positional order
    "begin": ["db", "txn", "bool", "bool"],
    "open_db": ["dbname", "txn", "bool", "bool", "bool", "bool", "bool", "bool"],
    "dbs": ["txn"], "stat": ["db"], "info": [], "flags": [], "close": [], "path": [],
    "max_key_size": [], "max_readers": [], "readers": [], "reader_check": [],
    "set_mapsize": ["mapsize"], "sync": ["bool"], "copy": ["path", "bool", "txn"],
    "copyfd": ["fd", "bool", "txn"],
    "get": ["key", "any", "db"], "put": ["key", "val", "bool", "bool", "bool", "db"],
    "replace": ["key", "val", "db"], "pop": ["key", "db"], "delete": ["key", "val", "db"],
    "cursor": ["db"], "drop": ["db", "bool"], "commit": [], "abort": [], "id": [],
    "first": [], "last": [], "next": [], "prev": [], "first_dup": [], "last_dup": [],
    "next_dup": [], "prev_dup": [], "next_nodup": [], "prev_nodup": [],
    "set_key": ["key"], "set_key_dup": ["key", "val"], "set_range": ["key"],
    "set_range_dup": ["key", "val"], "key": [], "value": [], "item": [], "count": [],
    "getmulti": ["keys", "bool", "int", "bool", "bool"], "putmulti": ["items", "bool", "bool", "bool"],
    "iternext": ["bool", "bool"], "iternext_dup": ["bool", "bool"], "iternext_nodup": ["bool", "bool"],
    "iterprev": ["bool", "bool"], "iterprev_dup": ["bool", "bool"], "iterprev_nodup": ["bool", "bool"],
    "_iter_from": ["key", "bool"],
}
KWNAMES = ["db", "txn", "key", "value", "val", "default", "write", "buffers", "parent", "dupsort",
           "create", "dupdata", "overwrite", "append", "delete", "keys", "values", "compact",
           "fd", "map_size", "reverse_key", "integerkey", "integerdup", "dupfixed", "keyfixed",
           "dupfixed_bytes", "bogus"]


def random_driver(seed, calls, impl="zlmdb", avoid_known=False):
    lmdb = H.import_impl(impl)
    rnd = random.Random(seed)
    tmp = tempfile.mkdtemp(prefix="zl-rand-")
    devnull = os.open(os.devnull, os.O_WRONLY)
    envs, txns, cursors, dbs, iters, views = [], [], [], [], [], []
    stats = {"calls": 0, "ok": 0, "exc": {}, "envs_opened": 0}
    env_counter = [0]
    trace = bool(os.environ.get("RELI_TRACE"))

    def pick(pool):
        # biased to recent objects, which are more often still valid
        if not pool:
            return None
        if rnd.random() < 0.7:
            return pool[-rnd.randint(1, min(4, len(pool)))]
        return rnd.choice(pool)

    def gen(kind):
        if kind == "fd":  # never a real fd other than /dev/null (0, 1, 2 ...)
            return rnd.choice([devnull, -1, 100000, None, "1", 1.5])
        if kind == "path":
            return rnd.choice([os.path.join(tmp, "copy%d" % rnd.randrange(1000)), None, b"",
                               os.path.join(tmp, "nodir", "x"), 1])
        if rnd.random() < 0.25:
            return rnd.choice(HOSTILE)
        if kind == "key":
            return rnd.choice([b"a", b"b", b"k%d" % rnd.randrange(50), b"x" * rnd.choice([1, 511, 512]),
                               bytearray(b"k1"), memoryview(b"k2")])
        if kind == "val":
            return rnd.choice([b"", b"v", b"w" * rnd.randrange(0, 6000), bytearray(b"vv")])
        if kind == "bool":
            return rnd.choice([True, False, None, 0, 1])
        if kind == "int":
            return rnd.choice([0, 1, 4, 8, 100])
        if kind == "db":
            return pick(dbs)
        if kind == "txn":
            return pick(txns)
        if kind == "dbname":
            return rnd.choice([None, b"d1", b"d2", b"dup", b"a", b"k1"])
        if kind == "mapsize":
            return rnd.choice([0, 1, 4096, 1 << 20, 8 << 20, 64 << 20])
        if kind == "path":
            return os.path.join(tmp, "copy%d" % rnd.randrange(1000))
        if kind == "fd":
            return rnd.choice([devnull, -1, 100000])
        if kind == "keys":
            return [gen("key") for _ in range(rnd.randrange(4))]
        if kind == "items":
            return [(gen("key"), gen("val")) for _ in range(rnd.randrange(5))]
        return rnd.choice(HOSTILE)

    def new_env():
        env_counter[0] += 1
        p = os.path.join(tmp, "env%d" % (env_counter[0] % 4))
        kw = {"map_size": rnd.choice([1 << 20, 4 << 20, 16 << 20]), "max_dbs": rnd.choice([0, 4]),
              "sync": False, "writemap": rnd.random() < 0.2, "max_spare_txns": rnd.choice([0, 1]),
              "readonly": rnd.random() < 0.05, "lock": rnd.random() > 0.05,
              "meminit": rnd.random() > 0.2}
        if rnd.random() < 0.1:
            kw[rnd.choice(list(kw))] = rnd.choice(HOSTILE)
        if trace:
            sys.stderr.write("#%d open(%r, **%r)\n" % (stats["calls"], p, kw))
        e = lmdb.open(p, **kw)
        if trace:
            sys.stderr.write("  -> Environment<%x>\n" % id(e))
        envs.append(e)
        stats["envs_opened"] += 1

    # Each step draws from its own seeded stream, so a step list can be
    # minimised (RELI_SKIP="i,j,..." skips steps) without changing the others.
    skip = {int(x) for x in os.environ.get("RELI_SKIP", "").split(",") if x}
    for step in range(calls):
        if step in skip:
            continue
        rnd.seed(seed * 1000003 + step)
        if step % 50 == 0:
            H.watchdog()
        stats["calls"] += 1
        r = rnd.random()
        try:
            if r < 0.04 or not envs:
                new_env()
                continue
            if r < 0.06:
                gc.collect()
                continue
            if r < 0.09:  # forget references (dealloc order chaos)
                pool = rnd.choice([envs, txns, cursors, dbs, iters, views])
                if pool:
                    pool.pop(rnd.randrange(len(pool)))
                continue
            if r < 0.11 and views:  # dangling views: only len/type, never contents
                v = rnd.choice(views)
                len(v), type(v), v.readonly
                continue
            if r < 0.14 and iters:
                it = rnd.choice(iters)
                for _ in range(rnd.randrange(1, 5)):
                    x = next(it)
                    if isinstance(x, memoryview):
                        views.append(x)
                stats["ok"] += 1
                continue
            target = rnd.choice([o for o in (pick(envs), pick(txns), pick(txns), pick(cursors),
                                             pick(cursors), pick(dbs)) if o is not None])
            names = [m for m in dir(type(target)) if not m.startswith("__")]
            name = rnd.choice(names)
            if name == "close" and isinstance(target, lmdb.Environment) and rnd.random() < 0.5:
                name = "begin"
            kinds = SIG.get(name, [])
            nargs = len(kinds)
            if rnd.random() < 0.2:
                nargs = rnd.randrange(0, len(kinds) + 3)
            args = [gen(kinds[i] if i < len(kinds) else "any") for i in range(nargs)]
            if rnd.random() < 0.3 and args:  # trim to a prefix plus keywords
                args = args[:rnd.randrange(len(args))]
            kw = {}
            if rnd.random() < 0.3:
                for _ in range(rnd.randrange(1, 3)):
                    kn = rnd.choice(KWNAMES)
                    kw[kn] = gen({"db": "db", "txn": "txn", "parent": "txn", "key": "key",
                                  "value": "val", "val": "val"}.get(kn, "bool"))
            if name in ("copy", "copyfd"):
                # Known hang, also in py-lmdb: a non-compact copy while this
                # thread holds a write txn self-deadlocks (corpus/hang_copy_*).
                kw["compact"] = True
                args = [gen("fd" if name == "copyfd" else "path")]
                if rnd.random() < 0.5:
                    kw["txn"] = pick(txns)
            if name == "open_db" and (len(args) < 2 or args[1] is None) and kw.get("txn") is None:
                # Known hang, also in py-lmdb: open_db's temporary write txn
                # waits for this thread's own write txn (corpus/hang_open_db_*).
                kw["txn"] = pick(txns) or Junk()
            if avoid_known and name == "set_mapsize" and args and args[0] == 2 ** 63 - 1:
                args[0] = 2 ** 40  # corpus/crash_set_mapsize_failed_remap.py
            if trace:
                sys.stderr.write("#%d %s<%x>.%s(*%r, **%r)\n" % (
                    step, type(target).__name__, id(target), name, args, kw))
                sys.stderr.flush()
            res = getattr(target, name)(*args, **kw)
            stats["ok"] += 1
            if isinstance(res, lmdb.Transaction):
                txns.append(res)
            elif isinstance(res, lmdb.Cursor):
                cursors.append(res)
            elif isinstance(res, lmdb._Database):
                dbs.append(res)
            elif isinstance(res, memoryview):
                views.append(res)
            elif type(res).__name__ == "_Iterator":
                iters.append(res)
            if len(txns) > 40:
                del txns[:10]
            if len(cursors) > 40:
                del cursors[:10]
            if len(views) > 200:
                del views[:100]
        except StopIteration:
            pass
        except Exception as e:  # any Python exception is an acceptable outcome
            n = type(e).__name__
            if trace:
                sys.stderr.write("  !! %s: %s\n" % (n, str(e)[:100]))
            stats["exc"][n] = stats["exc"].get(n, 0) + 1
    # orderly teardown in random order, then everything else via dealloc
    for pool in (txns, cursors, envs):
        rnd.shuffle(pool)
    for e in envs:
        try:
            e.close()
        except Exception:
            pass
    del envs[:], txns[:], cursors[:], dbs[:], iters[:], views[:]
    gc.collect()
    os.close(devnull)
    shutil.rmtree(tmp, ignore_errors=True)
    H.emit(stats)


def random_campaign(seeds, calls, impl="zlmdb", timeout=300, avoid_known=False):
    out = {"sequences": 0, "calls": 0, "failures": [], "exceptions": {}, "crash_seeds": [],
           "hang_seeds": []}
    for seed in seeds:
        res = H.run_script("hostile.py", ["random", seed, calls, impl], timeout=timeout,
                           env_extra={"RELI_AVOID_KNOWN": "1" if avoid_known else "0"})
        if res.crash:
            (out["hang_seeds"] if res.timed_out else out["crash_seeds"]).append(seed)
        info = res.json()
        why = res.failure()
        if why:
            out["failures"].append("seed %d: %s" % (seed, why))
            continue
        out["sequences"] += 1
        out["calls"] += info["calls"]
        for k, v in info["exc"].items():
            out["exceptions"][k] = out["exceptions"].get(k, 0) + v
    return out


# --- the hypothesis state machine -------------------------------------------

def make_machine(lmdb, workdir):
    from hypothesis import strategies as st
    from hypothesis.stateful import RuleBasedStateMachine, rule, invariant, precondition

    keys = st.sampled_from([b"a", b"b", b"c", b"k" * 300, b"z" * 511])
    vals = st.sampled_from([b"", b"1", b"v" * 100, b"w" * 5000])
    counter = [0]

    class Hostile(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            counter[0] += 1
            self.path = os.path.join(workdir, "m%d" % counter[0])
            self.env = None
            self.txns = []
            self.cursors = []
            self.iters = []
            self.views = []
            self.dbs = []
            self.writes = []
            self.threads = []
            self.stop = threading.Event()
            self.open_env()

        def open_env(self, writemap=False):
            try:
                self.env = lmdb.open(self.path, map_size=4 << 20, max_dbs=4, writemap=writemap,
                                     sync=False, max_spare_txns=1)
            except lmdb.Error:
                self.env = None

        def _try(self, fn, *a, **kw):
            try:
                return fn(*a, **kw)
            except lmdb.Error:
                return None
            except (TypeError, ValueError, StopIteration, OverflowError):
                return None

        @rule(writemap=st.booleans())
        def reopen(self, writemap):
            if self.env is not None:
                self._try(self.env.close)
            self.open_env(writemap)

        @rule()
        def close_env(self):
            if self.env is not None:
                self._try(self.env.close)

        @rule(write=st.booleans(), buffers=st.booleans(), nested=st.booleans(),
              named=st.booleans())
        def begin(self, write, buffers, nested, named):
            if self.env is None:
                return
            parent = None
            if nested and self.txns:
                parent = self.txns[-1]
            db = self.dbs[-1] if (named and self.dbs) else None
            t = self._try(self.env.begin, write=write, buffers=buffers, parent=parent, db=db)
            if t is not None:
                self.txns.append(t)
                if write:
                    self.writes.append(t)

        @rule(i=st.integers(0, 5), commit=st.booleans())
        def end_txn(self, i, commit):
            if self.txns:
                t = self.txns[i % len(self.txns)]
                self._try(t.commit if commit else t.abort)

        @rule(i=st.integers(0, 5), k=keys, v=vals)
        def put_get(self, i, k, v):
            if not self.txns:
                return
            t = self.txns[i % len(self.txns)]
            ok = self._try(t.put, k, v)
            if ok:
                got = self._try(t.get, k)
                # a successful put is visible in the same txn (model check)
                if got is not None and bytes(got) != v:
                    raise AssertionError("get after put returned %r" % (bytes(got)[:20],))

        @rule(i=st.integers(0, 5), k=keys)
        def delete(self, i, k):
            if self.txns:
                self._try(self.txns[i % len(self.txns)].delete, k)

        @rule(i=st.integers(0, 5), named=st.booleans())
        def cursor(self, i, named):
            if self.txns:
                t = self.txns[i % len(self.txns)]
                db = self.dbs[-1] if (named and self.dbs) else None
                c = self._try(t.cursor, db=db)
                if c is not None:
                    self.cursors.append(c)

        @rule(i=st.integers(0, 5), op=st.sampled_from(
            ["first", "last", "next", "prev", "key", "value", "item", "delete", "count",
             "next_dup", "first_dup", "close"]))
        def cursor_op(self, i, op):
            if self.cursors:
                c = self.cursors[i % len(self.cursors)]
                r = self._try(getattr(c, op))
                if isinstance(r, memoryview):
                    self.views.append(r)
                elif isinstance(r, tuple):
                    self.views.extend(x for x in r if isinstance(x, memoryview))

        @rule(i=st.integers(0, 5), k=keys, v=vals)
        def cursor_put_set(self, i, k, v):
            if self.cursors:
                c = self.cursors[i % len(self.cursors)]
                self._try(c.put, k, v)
                self._try(c.set_range, k)
                self._try(c.putmulti, [(k, v), (k + b"2", v)])

        @rule(i=st.integers(0, 5), n=st.integers(1, 6), mutate=st.booleans(), rev=st.booleans())
        def iterate_mutating(self, i, n, mutate, rev):
            if not self.cursors:
                return
            c = self.cursors[i % len(self.cursors)]
            it = self._try(c.iterprev if rev else c.iternext)
            if it is None:
                return
            self.iters.append(it)
            try:
                for j, item in enumerate(it):
                    for x in item:
                        if isinstance(x, memoryview):
                            self.views.append(x)
                    if mutate:
                        c.put(b"m%d" % j, b"x")  # insert during iteration
                        c.delete()
                    if j >= n:
                        break
            except (lmdb.Error, TypeError, ValueError):
                pass

        @rule(i=st.integers(0, 5))
        def advance_old_iterator(self, i):
            if self.iters:
                self._try(next, self.iters[i % len(self.iters)])

        @rule(i=st.integers(0, 5), k=keys)
        def buffer_get(self, i, k):
            if self.txns:
                r = self._try(self.txns[i % len(self.txns)].get, k)
                if isinstance(r, memoryview):
                    self.views.append(r)

        @rule()
        def touch_views(self):
            # Dangling views: only metadata, never contents.
            for v in self.views[-20:]:
                len(v), type(v), v.readonly

        @rule(size=st.sampled_from([0, 1 << 20, 4 << 20, 8 << 20, 64 << 20]))
        def set_mapsize(self, size):
            if self.env is not None:
                self._try(self.env.set_mapsize, size)

        @rule(name=st.sampled_from([b"d1", b"d2", b"dup"]), dupsort=st.booleans(),
              i=st.integers(0, 5))
        def open_db(self, name, dupsort, i):
            if self.env is not None:
                # Without txn= open_db self-deadlocks if this thread holds a
                # write txn (known, also py-lmdb: corpus/hang_open_db_*).
                txn = self.txns[i % len(self.txns)] if self.txns else None
                if txn is None and (self.writes or any(t.is_alive() for t in self.threads)):
                    # ... and deadlocks if another thread holds a write txn and
                    # needs the GIL (known, also py-lmdb: corpus/hang_open_db_vs_*)
                    return
                d = self._try(self.env.open_db, name, dupsort=dupsort, txn=txn)
                if d is not None:
                    self.dbs.append(d)

        @rule(i=st.integers(0, 5), delete=st.booleans())
        def drop(self, i, delete):
            if self.txns and self.dbs:
                self._try(self.txns[i % len(self.txns)].drop, self.dbs[i % len(self.dbs)],
                          delete=delete)

        @rule(which=st.sampled_from(["txns", "cursors", "iters", "dbs", "views"]))
        def forget(self, which):
            pool = getattr(self, which)
            if pool:
                pool.pop(0)

        @rule()
        def collect(self):
            gc.collect()

        @precondition(lambda self: len(self.threads) < 3)
        @rule(n=st.integers(5, 60), write=st.booleans())
        def background(self, n, write):
            env = self.env
            if env is None:
                return
            stop = self.stop

            def work():
                for j in range(n):
                    if stop.is_set():
                        return
                    try:
                        if write:
                            # a short write txn; blocks while the main thread
                            # holds one, so bounded by join() in teardown
                            with env.begin(write=True) as t:
                                t.put(b"bg%d" % j, b"v")
                        else:
                            with env.begin() as t:
                                for _ in t.cursor():
                                    pass
                                t.get(b"a")
                    except Exception:
                        pass
            th = threading.Thread(target=work, daemon=True)
            th.start()
            self.threads.append(th)

        @invariant()
        def env_sane(self):
            H.watchdog()
            if self.env is not None:
                try:
                    self.env.info()
                except lmdb.Error:
                    pass

        def teardown(self):
            # end main-thread write txns first so blocked writer threads
            # can proceed; then join; a thread that never ends is a hang
            for t in reversed(self.txns + self.writes):
                self._try(t.abort)
            self.stop.set()
            for th in self.threads:
                th.join(60)
                if th.is_alive():
                    sys.stderr.write("HANG: background thread did not finish\n")
                    os._exit(4)
            self.cursors = self.iters = self.txns = self.views = self.dbs = self.writes = []
            if self.env is not None:
                self._try(self.env.close)
            self.env = None
            gc.collect()
            shutil.rmtree(self.path, ignore_errors=True)

    return Hostile


def fsm_driver(seed, examples, steps):
    lmdb = H.import_impl("zlmdb")
    from hypothesis import settings, HealthCheck, Phase
    from hypothesis.stateful import run_state_machine_as_test
    import hypothesis
    workdir = tempfile.mkdtemp(prefix="zl-fsm-")
    machine = make_machine(lmdb, workdir)
    runs = [0]
    orig_init = machine.__init__

    def counting_init(self):
        runs[0] += 1
        orig_init(self)
    machine.__init__ = counting_init
    s = settings(max_examples=examples, stateful_step_count=steps, deadline=None,
                 database=None, derandomize=False, phases=[Phase.generate, Phase.shrink],
                 suppress_health_check=list(HealthCheck))
    hypothesis.seed(seed)(lambda: None)
    random.seed(seed)
    run_state_machine_as_test(machine, settings=s)
    shutil.rmtree(workdir, ignore_errors=True)
    H.emit({"sequences": runs[0], "max_steps": steps})


def fsm_campaign(seeds, examples, steps, timeout=600):
    out = {"sequences": 0, "failures": []}
    for seed in seeds:
        res = H.run_script("hostile.py", ["fsm", seed, examples, steps], timeout=timeout)
        info = res.json()
        why = res.failure()
        if why:
            out["failures"].append("seed %d: %s" % (seed, why))
            continue
        out["sequences"] += info["sequences"]
    return out


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "random":
        random_driver(int(a[1]), int(a[2]), a[3] if len(a) > 3 else "zlmdb",
                      avoid_known=os.environ.get("RELI_AVOID_KNOWN") == "1")
    elif a[0] == "fsm":
        fsm_driver(int(a[1]), int(a[2]), int(a[3]))
