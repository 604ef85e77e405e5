"""The peers suite: zlmdb (both layers) against other embedded and server stores.

Systems: ours as ``zlmdb.lmdb`` (low level, CBOR from ``zlmdb.codec``) and as
the ``zlmdb`` ORM; py-lmdb 2.3.0 with cbor2; upstream zlmdb 26.7.1 (its own
virtualenv, as in the ORM suite); sqlite3 (WAL, synchronous=FULL); Redis from
Debian, started by the child on a free loopback port in the child's temp dir
(AOF everysec, and no persistence); RocksDB (rocksdict); LevelDB (plyvel);
diskcache.  Each runs in its own child process (bench/child.py).

One child per (system, size) loads ``size`` records and then runs every
workload on that database, because loading 10^7 records once per workload
would not fit any time budget.  The load is the batched put (1,000 records
per transaction, each with its secondary-index entry) and is what the
harness sees as the child's ops/s; the other workloads run a fixed number of
operations (or seconds), not over all records, so 10^7 stays feasible.  Their
results travel in ``extra["workloads"]`` and are tabulated and charted by
this module's report hooks.

Records: 10 fields (id, name, email, age, score, active, created, tags, city,
balance), derived from splitmix64 of the record number, so any process can
rebuild record i without a shared list.  Each system stores them in its
natural encoding (see ENCODINGS) under its natural key, with a secondary
index from ``email`` to the record.

Standard library only at import time: the upstream child imports this module
in its own virtualenv; each store's package is imported by child.py as the
system's ``module`` and handed in.
"""

import gc
import itertools
import json
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import time

import datagen
from harness import BENCH_DIR, Clock, PythonSystem, Suite, Workload

OURS = "zlmdb.lmdb"
ORM = "zlmdb"
MAP_SIZE = 64 << 30          # LMDB reserves address space only; files grow as written
SIZES = [("10k", 10**4), ("100k", 10**5), ("1m", 10**6), ("10m", 10**7)]

# (name, title, unit of one op, what the loop does)
OPS = [
    ("put_batch", "batched put (load)", "record",
     "the load: `size` records in transactions of `batch` (1,000), each record encoded and "
     "written with its index entry; latency is per transaction"),
    ("put_single", "single put, one commit each", "record",
     "one transaction per record (record + index entry), committed with the system's "
     "durability setting; `single_ops` puts or `single_seconds`, whichever comes first"),
    ("get_rand", "point get, random order", "get",
     "stored value bytes by primary key, random keys (ORM: decoded object)"),
    ("get_seq", "point get, key order", "get",
     "stored value bytes by primary key, consecutive keys from a random start (ORM: decoded)"),
    ("scan", "range scan of 1,000 keys", "record",
     "`scan_len` (1,000) consecutive records from a random start key; op = one record; "
     "latency is per scan"),
    ("obj_get", "object get (decode)", "get",
     "get by primary key and decode the 10-field record, random keys"),
    ("idx_lookup", "indexed lookup by email", "lookup",
     "email -> record through the secondary index, decoded"),
    ("mixed", "mixed 90/10, 4 processes", "op",
     "`procs` (4) processes on the same database for `mixed_seconds`: 90% object gets "
     "(each in its own read transaction), 10% single puts with a commit each"),
]
OP_NAMES = [o[0] for o in OPS]

ENCODINGS = {
    "zlmdb.lmdb": "CBOR (zlmdb.codec.cbor_dumps/cbor_loads)",
    "zlmdb": "CBOR (MapOidCbor; index MapStringOid)",
    "py-lmdb": "CBOR (cbor2 6.3.0)",
    "upstream": "CBOR (MapOidCbor via cbor2; index MapStringOid)",
    "sqlite": "JSON text (json.dumps, compact) in a TEXT column",
    "redis-aof": "JSON string (json.dumps) per key",
    "redis-none": "JSON string (json.dumps) per key",
    "rocksdb": "pickle (protocol 5, what Rdict's default mode does), raw_mode values",
    "leveldb": "pickle (protocol 5; LevelDB stores bytes, it has no encoding of its own)",
    "diskcache": "pickle (protocol 5, diskcache's own default for objects), stored as bytes",
}

SETTINGS = {
    "zlmdb.lmdb": "lmdb.open(dir, map_size=64 GiB, max_dbs=2), defaults otherwise: sync=True "
                  "and metasync=True (fsync on every commit); records in DB `rec` (key: "
                  "8-byte big-endian id), index in DB `idx` (email -> id), same txn",
    "zlmdb": "zlmdb.Database(dir, maxsize=64 GiB), defaults otherwise (fsync on commit); "
             "MapOidCbor(1) with a unique MapStringOid(2) index on email (attach_index)",
    "py-lmdb": "as zlmdb.lmdb (the same code, `import lmdb`)",
    "upstream": "as zlmdb (the same code), upstream zlmdb 26.7.1 in build/upstream-venv-26.7.1",
    "sqlite": "journal_mode=WAL, synchronous=FULL (the WAL is fsynced at every commit: "
              "NORMAL would fsync only at checkpoints, so a power loss could drop committed "
              "transactions, which LMDB's default does not); table rec(id INTEGER PRIMARY "
              "KEY, email TEXT, value TEXT) + UNIQUE index on email; writes in BEGIN "
              "IMMEDIATE..COMMIT, executemany for batches; read loops in one BEGIN..COMMIT; "
              "busy_timeout=60 s; page cache and checkpointing at their defaults",
    "redis-aof": "redis-server (Debian) on 127.0.0.1:<free port>, own temp dir, appendonly "
                 "yes, appendfsync everysec (Redis's recommended AOF policy: up to ~1 s of "
                 "writes can be lost, i.e. weaker than fsync per commit), RDB snapshots off "
                 "(save \"\"), auto AOF rewrite at its defaults; redis-py with hiredis over "
                 "TCP; a batch or single put is one MULTI/EXEC pipeline (SET rec:<id> + "
                 "HSET idx:email <email> <id>)",
    "redis-none": "as redis-aof but appendonly no and save \"\": in memory only, nothing "
                  "survives a restart",
    "rocksdb": "rocksdict Rdict(dir, Options(raw_mode=True)), default options otherwise; "
               "WriteOptions.sync=True on every write (the fsync-per-commit setting RocksDB "
               "documents for durable writes); index in column family `idx`; batches as "
               "WriteBatch",
    "leveldb": "plyvel.DB(dir, create_if_missing=True), default options; every write with "
               "sync=True (LevelDB's documented durable write); records under b'r'+id, index "
               "under b'i'+email, batches via write_batch(sync=True)",
    "diskcache": "diskcache.Cache(dir, sqlite_synchronous=2 (FULL; the default NORMAL skips "
                 "the fsync at commit), eviction_policy='none', size_limit=2**50, "
                 "cull_limit=0: a store, not a cache that drops records); keys are ints, the "
                 "index is key 'e:'+email -> id; batches in cache.transact()",
}


# ---------------------------------------------------------------- systems

class PeerSystem(PythonSystem):
    """A Python system whose child also learns which peer configuration to
    build (two Redis configurations share the module ``redis``)."""

    def __init__(self, name, label, module, needs=(), **kw):
        PythonSystem.__init__(self, name, label, module, **kw)
        self.needs = list(needs)      # executables that must exist

    def probe(self):
        for exe in self.needs:
            if shutil.which(exe) is None:
                return "%s not found on PATH (Debian: apt-get install %s)" % (exe, exe)
        return PythonSystem.probe(self)

    def command(self, suite, workload, params, dbdir):
        return PythonSystem.command(self, suite, workload, params, dbdir) + \
            ["--system", self.name]


def _upstream_system():
    from suites.orm import UPSTREAM_VENV_PYTHON, UPSTREAM_VERSION, UpstreamSystem

    class UpstreamPeer(UpstreamSystem):
        def command(self, suite, workload, params, dbdir):
            return UpstreamSystem.command(self, suite, workload, params, dbdir) + \
                ["--system", self.name]

    return UpstreamPeer("upstream", "upstream zlmdb %s" % UPSTREAM_VERSION, module="zlmdb",
                        python=UPSTREAM_VENV_PYTHON, python_env="ZLMDB_BENCH_UPSTREAM_PYTHON",
                        description="upstream zlmdb==%s in build/upstream-venv-%s, run with "
                                    "-E -s" % (UPSTREAM_VERSION, UPSTREAM_VERSION))


SYSTEMS = [
    PeerSystem(OURS, "zlmdb.lmdb (ours)", module="zlmdb.lmdb",
               python_env="ZLMDB_BENCH_ZLMDB_PYTHON",
               description="ours, low level: import zlmdb.lmdb as lmdb; CBOR by zlmdb.codec"),
    PeerSystem(ORM, "zlmdb ORM (ours)", module="zlmdb", python_env="ZLMDB_BENCH_ZLMDB_PYTHON",
               description="ours, ORM: MapOidCbor + MapStringOid index"),
    PeerSystem("py-lmdb", "py-lmdb+cbor2", module="lmdb",
               python_env="ZLMDB_BENCH_PYLMDB_PYTHON",
               description="py-lmdb 2.3.0 with cbor2"),
    _upstream_system(),
    PeerSystem("sqlite", "sqlite3", module="sqlite3",
               description="stdlib sqlite3, WAL, synchronous=FULL"),
    PeerSystem("redis-aof", "Redis AOF everysec", module="redis", needs=["redis-server"],
               description="redis-server (Debian) + redis-py/hiredis, appendfsync everysec"),
    PeerSystem("redis-none", "Redis no persistence", module="redis", needs=["redis-server"],
               description="redis-server (Debian) + redis-py/hiredis, no persistence"),
    PeerSystem("rocksdb", "RocksDB (rocksdict)", module="rocksdict",
               description="rocksdict, sync writes"),
    PeerSystem("leveldb", "LevelDB (plyvel)", module="plyvel",
               description="plyvel, sync writes"),
    PeerSystem("diskcache", "diskcache", module="diskcache",
               description="diskcache.Cache, sqlite_synchronous=FULL"),
]


# ---------------------------------------------------------------- records

_NAMES = ["Ada", "Bob", "Chloé", "Dmitri", "Eva", "François", "Günther", "Hana", "Ibrahim",
          "Jürgen", "Kenji", "Léa", "Mateo", "Nuño", "Olga", "Priya", "Quentin", "Rosa",
          "Søren", "Tomás", "Uma", "Viktor", "Wen", "Xena", "Yusuf", "Zoë", "Amara", "Bjørn",
          "Cyrus", "Dara", "Emil", "Farah"]
_CITIES = ["Berlin", "Paris", "Lagos", "Lima", "Osaka", "Porto", "Quito", "Riga", "Sofia",
           "Tunis", "Ulm", "Vigo", "Wien", "York", "Zürich", "Accra", "Bern", "Cork", "Doha",
           "Essen", "Fes", "Graz", "Hue", "Ica", "Jena", "Kiel", "Linz", "Metz", "Nice",
           "Oslo", "Pune", "Reims"]
_TAGS = ["admin", "beta", "blue", "cli", "dev", "eu", "free", "gold", "ios", "java", "kyc",
         "lts", "mobile", "new", "ops", "pro"]


class Records:
    """Record i as a dict of 10 fields, rebuilt from splitmix64(i ^ salt):
    every process gets the same record for the same i without sharing a list.
    Floats are multiples of 1/1024, so JSON round-trips them exactly."""

    def __init__(self, seed):
        self.salt, _ = datagen.salt_and_pad(seed)

    def __call__(self, i):
        m = datagen.MASK64
        z = i ^ self.salt
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
        z ^= z >> 31
        y = (z + datagen.GOLDEN) & m
        y = ((y ^ (y >> 30)) * 0xBF58476D1CE4E5B9) & m
        y = ((y ^ (y >> 27)) * 0x94D049BB133111EB) & m
        y ^= y >> 31
        return {"id": i, "name": _NAMES[z & 31], "email": "u%d.%x@example.org" % (i, z >> 44),
                "age": 18 + (z >> 8) % 80, "score": ((z >> 16) & 0xFFFFF) / 1024.0,
                "active": bool(z >> 63), "created": 1600000000000 + y % 10**11,
                "tags": [_TAGS[y & 15], _TAGS[(y >> 4) & 15]], "city": _CITIES[(y >> 8) & 31],
                "balance": (y >> 20) % 10**9 - 5 * 10**8}

    def email(self, i):
        return self(i)["email"]


def _ids(n, count, seed):
    """``count`` record numbers in [0, n), drawn with replacement."""
    s = datagen.stream(seed)
    return [next(s) % n for _ in range(count)]


# ---------------------------------------------------------------- stores
#
# Every store has: open(dir), close(), key(i), ikey(email) (the native key of
# record i / of an index entry), skey(i) (where a scan from record i starts;
# key(i) unless the scan works on ids), write(items) (one transaction holding the
# records and their index entries: the batched and the single put), reader()
# -> an object with get/obj/scan/idx bound for one read loop and end(),
# obj_once(key) (a get in its own read transaction, for the mixed workload),
# disk_bytes(), notes().  Workers of the mixed workload call open(dir) again
# in their own process.

def _du(path):
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_blocks * 512
            except OSError:
                pass
    return total


def _version(dist):
    try:
        from importlib.metadata import version
        return version(dist)
    except Exception:
        return "?"


class _Reader:
    def end(self):
        pass


def _skey(store, i):
    skey = getattr(store, "skey", None)
    return skey(i) if skey is not None else store.key(i)


class LmdbStore:
    """py-lmdb's API: ours (zlmdb.lmdb + zlmdb.codec CBOR) or py-lmdb + cbor2."""

    multiprocess = True

    def __init__(self, lmdb, p, codec):
        self.lmdb, self.p = lmdb, p
        if codec == "zlmdb":
            import zlmdb.codec as c
            self.dumps, self.loads, self.codec = c.cbor_dumps, c.cbor_loads, "zlmdb.codec"
        else:
            import cbor2
            self.dumps, self.loads = cbor2.dumps, cbor2.loads
            self.codec = "cbor2 %s" % _version("cbor2")

    def open(self, d):
        self.dir = d
        self.env = self.lmdb.open(d, map_size=MAP_SIZE, max_dbs=2)
        self.rec = self.env.open_db(b"rec")
        self.idx = self.env.open_db(b"idx")

    def close(self):
        self.env.close()

    @staticmethod
    def key(i):
        return i.to_bytes(8, "big")

    @staticmethod
    def ikey(email):
        return email.encode()

    def write(self, items):
        dumps, rec, idx = self.dumps, self.rec, self.idx
        with self.env.begin(write=True) as txn:
            put = txn.put
            for i, r in items:
                k = i.to_bytes(8, "big")
                put(k, dumps(r), db=rec)
                put(r["email"].encode(), k, db=idx)

    def reader(self):
        txn = self.env.begin(db=self.rec)
        loads, idx, n = self.loads, self.idx, self.p["scan_len"]
        rd = _Reader()
        rd.get = txn.get
        rd.obj = lambda k: loads(txn.get(k))

        def scan(k0):
            c = txn.cursor()
            c.set_range(k0)
            return sum(1 for _ in itertools.islice(c.iternext(), n))
        rd.scan = scan
        rd.idx = lambda e: loads(txn.get(txn.get(e, db=idx)))
        rd.end = txn.abort
        return rd

    def obj_once(self, k):
        with self.env.begin(db=self.rec) as txn:
            return self.loads(txn.get(k))

    def disk_bytes(self):
        return _du(self.dir)

    def notes(self):
        v = self.lmdb.version()
        return ["%s, LMDB %s, values by %s" % (
            getattr(self.lmdb, "__name__", "lmdb") + " " + str(
                getattr(self.lmdb, "__version__", "")), ".".join(map(str, v)), self.codec)]


class OrmStore:
    """The zlmdb ORM: ours or upstream 26.7.1 (the same code on either)."""

    multiprocess = True

    def __init__(self, zlmdb, p):
        self.z, self.p = zlmdb, p

    def open(self, d):
        z = self.z
        self.dir = d
        self.db = z.Database(d, maxsize=MAP_SIZE)
        self.recs = z.MapOidCbor(1, marshal=lambda r: r, unmarshal=lambda d: d)
        self.by_email = z.MapStringOid(2)
        self.recs.attach_index("email", self.by_email, lambda r: r["email"])

    def close(self):
        close = getattr(self.db, "close", None)
        if close is not None:
            close()
        else:                  # upstream's Database has no close(); its __exit__ closes
            self.db.__exit__(None, None, None)
        self.db = None

    @staticmethod
    def key(i):
        return i

    @staticmethod
    def ikey(email):
        return email

    def write(self, items):
        recs = self.recs
        with self.db.begin(write=True) as txn:
            for i, r in items:
                recs[txn, i] = r

    def reader(self):
        cm = self.db.begin()
        txn = cm.__enter__()
        recs, by_email, n = self.recs, self.by_email, self.p["scan_len"]
        rd = _Reader()
        rd.get = rd.obj = lambda k: recs[txn, k]
        rd.scan = lambda k0: sum(1 for _ in recs.select(txn, from_key=k0, limit=n,
                                                         return_keys=False))
        rd.idx = lambda e: recs[txn, by_email[txn, e]]
        rd.end = lambda: cm.__exit__(None, None, None)
        return rd

    def obj_once(self, k):
        with self.db.begin() as txn:
            return self.recs[txn, k]

    def disk_bytes(self):
        return _du(self.dir)

    def notes(self):
        return ["zlmdb %s from %s" % (getattr(self.z, "__version__", "?"),
                                      os.path.dirname(os.path.dirname(self.z.__file__)))]


class SqliteStore:
    multiprocess = True
    GET = "SELECT value FROM rec WHERE id = ?"
    SCAN = "SELECT id, value FROM rec WHERE id >= ? ORDER BY id LIMIT ?"
    IDX = "SELECT value FROM rec WHERE email = ?"
    PUT = "INSERT OR REPLACE INTO rec (id, email, value) VALUES (?, ?, ?)"

    def __init__(self, sqlite3, p):
        self.sqlite3, self.p = sqlite3, p

    def open(self, d):
        self.dir = d
        self.conn = c = self.sqlite3.connect(os.path.join(d, "bench.sqlite"),
                                             isolation_level=None, timeout=60.0)
        mode = c.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise RuntimeError("sqlite refused WAL mode: %r" % mode)
        c.execute("PRAGMA synchronous=FULL")
        c.execute("CREATE TABLE IF NOT EXISTS rec (id INTEGER PRIMARY KEY, "
                  "email TEXT NOT NULL, value TEXT NOT NULL)")
        c.execute("CREATE UNIQUE INDEX IF NOT EXISTS rec_email ON rec (email)")

    def close(self):
        self.conn.close()

    @staticmethod
    def key(i):
        return i

    @staticmethod
    def ikey(email):
        return email

    def write(self, items):
        dumps = _json_dumps
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            c.executemany(self.PUT, [(i, r["email"], dumps(r)) for i, r in items])
        except BaseException:
            c.execute("ROLLBACK")
            raise
        c.execute("COMMIT")

    def reader(self):
        c = self.conn
        c.execute("BEGIN")
        cur = c.cursor()
        ex, loads, n = cur.execute, json.loads, self.p["scan_len"]
        GET, SCAN, IDX = self.GET, self.SCAN, self.IDX
        rd = _Reader()
        rd.get = lambda k: ex(GET, (k,)).fetchone()[0]
        rd.obj = lambda k: loads(ex(GET, (k,)).fetchone()[0])
        rd.scan = lambda k0: len(ex(SCAN, (k0, n)).fetchall())
        rd.idx = lambda e: loads(ex(IDX, (e,)).fetchone()[0])
        rd.end = lambda: c.execute("COMMIT")
        return rd

    def obj_once(self, k):
        return json.loads(self.conn.execute(self.GET, (k,)).fetchone()[0])

    def disk_bytes(self):
        return _du(self.dir)

    def notes(self):
        return ["SQLite %s (Python sqlite3 module)" % self.sqlite3.sqlite_version]


def _json_dumps(obj, _enc=json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode):
    return _enc(obj)


class RedisServer:
    """A private redis-server for one child: free loopback port, its own
    directory, stopped by stop() and, should the child die without running
    it (kill -9, timeout), by the kernel (PR_SET_PDEATHSIG)."""

    def __init__(self, d, persistence):
        self.dir = os.path.join(d, "redis")
        os.makedirs(self.dir, exist_ok=True)
        self.persistence = persistence
        self.proc = None

    @staticmethod
    def _free_port():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    @staticmethod
    def _die_with_parent():
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)          # PR_SET_PDEATHSIG
        except Exception:
            pass

    def start(self, redis_mod):
        last = None
        for _attempt in range(5):
            self.port = self._free_port()
            args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                    "--dir", self.dir, "--daemonize", "no", "--save", "",
                    "--logfile", os.path.join(self.dir, "redis.log"),
                    "--protected-mode", "yes"]
            if self.persistence == "aof":
                args += ["--appendonly", "yes", "--appendfsync", "everysec"]
            else:
                args += ["--appendonly", "no"]
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         preexec_fn=self._die_with_parent)
            client = redis_mod.Redis(host="127.0.0.1", port=self.port)
            deadline = time.time() + 15
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    if client.ping():
                        client.close()
                        return
                except redis_mod.exceptions.ConnectionError as exc:
                    last = exc
                    time.sleep(0.05)
            self.stop()              # port taken meanwhile, or no answer: try another
        raise RuntimeError("redis-server did not start (%s); see %s/redis.log" % (last, self.dir))

    def stop(self):
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


class RedisStore:
    multiprocess = True

    def __init__(self, redis, p, persistence):
        self.r_mod, self.p, self.persistence = redis, p, persistence
        self.server = None
        self.client = None

    def start_server(self, d):
        self.server = RedisServer(d, self.persistence)
        self.server.start(self.r_mod)
        self.port = self.server.port

    def stop_server(self):
        if self.server is not None:
            self.server.stop()
            self.server = None

    def open(self, d):
        self.dir = d
        self.client = self.r_mod.Redis(host="127.0.0.1", port=self.port)

    def close(self):
        if self.client is not None:
            self.client.close()
            self.client = None

    @staticmethod
    def key(i):
        return b"rec:%d" % i

    @staticmethod
    def skey(i):
        return i            # MGET of the ids from i on

    @staticmethod
    def ikey(email):
        return email

    def write(self, items):
        dumps = _json_dumps
        pipe = self.client.pipeline(transaction=True)
        s, h = pipe.set, pipe.hset
        for i, r in items:
            s(b"rec:%d" % i, dumps(r))
            h(b"idx:email", r["email"], i)
        pipe.execute()

    def reader(self):
        r, loads, n = self.client, json.loads, self.p["scan_len"]
        rd = _Reader()
        rd.get = r.get
        rd.obj = lambda k: loads(r.get(k))
        rd.scan = lambda k0: len(r.mget([b"rec:%d" % j for j in range(k0, k0 + n)]))
        rd.idx = lambda e: loads(r.get(b"rec:" + r.hget(b"idx:email", e)))
        return rd

    def obj_once(self, k):
        return json.loads(self.client.get(k))

    def disk_bytes(self):
        return _du(self.server.dir if self.server else self.dir) - self._log_bytes()

    def _log_bytes(self):
        try:
            st = os.lstat(os.path.join(self.server.dir, "redis.log"))
            return st.st_blocks * 512
        except (OSError, AttributeError):
            return 0

    def info(self):
        mem = self.client.info("memory")
        srv = self.client.info("server")
        return srv.get("redis_version"), mem.get("used_memory")

    def notes(self):
        version, _ = self.info()
        return ["redis-server %s (Debian), redis-py %s, hiredis %s" % (
            version, _version("redis"), _version("hiredis"))]


class RocksStore:
    multiprocess = False
    why_single = ("RocksDB allows one read-write process per database (LOCK file); secondary "
                  "or read-only instances would not see the other processes' writes without "
                  "try_catch_up_with_primary, so mixed is not run")

    def __init__(self, rocksdict, p):
        self.rd, self.p = rocksdict, p

    def open(self, d):
        rd = self.rd
        self.dir = d
        opt = rd.Options(raw_mode=True)
        opt.create_if_missing(True)
        self.db = rd.Rdict(os.path.join(d, "rocks"), opt)
        self.idx = self.db.create_column_family("idx", rd.Options(raw_mode=True))
        self.idx_handle = self.db.get_column_family_handle("idx")
        self.wo = rd.WriteOptions()
        self.wo.sync = True

    def close(self):
        self.idx.close()
        self.db.close()

    @staticmethod
    def key(i):
        return i.to_bytes(8, "big")

    @staticmethod
    def ikey(email):
        return email.encode()

    def write(self, items):
        dumps, h = pickle.dumps, self.idx_handle
        wb = self.rd.WriteBatch(raw_mode=True)
        put = wb.put
        for i, r in items:
            k = i.to_bytes(8, "big")
            put(k, dumps(r, 5))
            put(r["email"].encode(), k, h)
        self.db.write(wb, self.wo)

    def reader(self):
        db, idx, loads, n = self.db, self.idx, pickle.loads, self.p["scan_len"]
        rd = _Reader()
        rd.get = db.get
        rd.obj = lambda k: loads(db.get(k))
        rd.scan = lambda k0: sum(1 for _ in itertools.islice(db.items(from_key=k0), n))
        rd.idx = lambda e: loads(db.get(idx.get(e)))
        return rd

    def disk_bytes(self):
        return _du(self.dir)

    def notes(self):
        return ["rocksdict %s" % _version("rocksdict")]


class LevelStore:
    multiprocess = False
    why_single = ("LevelDB opens a database in one process at a time (LOCK file) and has no "
                  "secondary or read-only mode, so mixed is not run")

    def __init__(self, plyvel, p):
        self.pv, self.p = plyvel, p

    def open(self, d):
        self.dir = d
        self.db = self.pv.DB(os.path.join(d, "level"), create_if_missing=True)

    def close(self):
        self.db.close()

    @staticmethod
    def key(i):
        return b"r" + i.to_bytes(8, "big")

    @staticmethod
    def ikey(email):
        return b"i" + email.encode()

    def write(self, items):
        dumps = pickle.dumps
        with self.db.write_batch(sync=True) as wb:
            put = wb.put
            for i, r in items:
                k = b"r" + i.to_bytes(8, "big")
                put(k, dumps(r, 5))
                put(b"i" + r["email"].encode(), k)

    def reader(self):
        db, loads, n = self.db, pickle.loads, self.p["scan_len"]
        rd = _Reader()
        rd.get = db.get
        rd.obj = lambda k: loads(db.get(k))

        def scan(k0):
            it = db.iterator(start=k0)
            try:
                return sum(1 for _ in itertools.islice(it, n))
            finally:
                it.close()
        rd.scan = scan
        rd.idx = lambda e: loads(db.get(db.get(e)))
        return rd

    def disk_bytes(self):
        return _du(self.dir)

    def notes(self):
        return ["plyvel %s, LevelDB %s" % (self.pv.__version__,
                                           getattr(self.pv, "__leveldb_version__", "?"))]


class DiskcacheStore:
    multiprocess = True

    def __init__(self, diskcache, p):
        self.dc, self.p = diskcache, p

    def open(self, d):
        self.dir = d
        self.cache = self.dc.Cache(os.path.join(d, "cache"), sqlite_synchronous=2,
                                   eviction_policy="none", size_limit=2**50, cull_limit=0)

    def close(self):
        self.cache.close()

    @staticmethod
    def key(i):
        return i

    @staticmethod
    def ikey(email):
        return "e:" + email

    def write(self, items):
        dumps, cache = pickle.dumps, self.cache
        s = cache.set
        with cache.transact():
            for i, r in items:
                s(i, dumps(r, 5))
                s("e:" + r["email"], i)

    def reader(self):
        get, loads, n = self.cache.get, pickle.loads, self.p["scan_len"]
        rd = _Reader()
        rd.get = get
        rd.obj = lambda k: loads(get(k))
        rd.scan = lambda k0: sum(1 for j in range(k0, k0 + n) if get(j) is not None)
        rd.idx = lambda e: loads(get(get(e)))
        return rd

    def obj_once(self, k):
        return pickle.loads(self.cache.get(k))

    def disk_bytes(self):
        return _du(self.dir)

    def notes(self):
        return ["diskcache %s (SQLite %s)" % (self.dc.__version__, _sqlite_version())]


def _sqlite_version():
    import sqlite3
    return sqlite3.sqlite_version


def make_store(system, mod, p):
    if system in (OURS, "py-lmdb"):
        return LmdbStore(mod, p, "zlmdb" if system == OURS else "cbor2")
    if system in (ORM, "upstream"):
        return OrmStore(mod, p)
    if system == "sqlite":
        return SqliteStore(mod, p)
    if system in ("redis-aof", "redis-none"):
        return RedisStore(mod, p, "aof" if system == "redis-aof" else "none")
    if system == "rocksdb":
        return RocksStore(mod, p)
    if system == "leveldb":
        return LevelStore(mod, p)
    if system == "diskcache":
        return DiskcacheStore(mod, p)
    raise ValueError("unknown peer system %r" % system)


# ---------------------------------------------------------------- measuring

def _pct(ns_list, scale=1):
    """(p50, p99) in microseconds per ``scale`` ops' worth of one sample."""
    if not ns_list:
        return None, None
    s = sorted(ns_list)
    pick = lambda q: s[min(len(s) - 1, int(q * len(s)))] / 1000.0 / scale
    return pick(0.50), pick(0.99)


def _latencies(fn, args):
    pc = time.perf_counter_ns
    out = []
    gc.collect()
    gc.disable()
    try:
        for a in args:
            t = pc()
            fn(a)
            out.append(pc() - t)
    finally:
        gc.enable()
    return out


def _entry(ops, seconds, lat_ns, unit, **extra):
    p50, p99 = _pct(lat_ns)
    d = {"ops": ops, "seconds": seconds, "ops_per_sec": ops / seconds if seconds > 0 else 0.0,
         "p50_us": p50, "p99_us": p99, "latency_of": unit, "latency_samples": len(lat_ns)}
    d.update(extra)
    return d


def _load(store, n, p, make):
    batch = p["batch"]
    pc = time.perf_counter
    total = 0.0
    lat = []
    gc.collect()
    gc.disable()
    try:
        for b0 in range(0, n, batch):
            items = [(i, make(i)) for i in range(b0, min(n, b0 + batch))]
            t = pc()
            store.write(items)
            dt = pc() - t
            total += dt
            lat.append(int(dt * 1e9))
    finally:
        gc.enable()
    return _entry(n, total, lat, "%d-record transaction" % batch)


def _check(store, n, make, p):
    """Sample of records and index entries read back after the load."""
    rd = store.reader()
    try:
        step = max(1, n // 100)
        for i in list(range(0, n, step)) + [n - 1]:
            got = rd.obj(store.key(i))
            if got != make(i):
                raise AssertionError("record %d reads back as %r" % (i, got))
            got = rd.idx(store.ikey(make(i)["email"]))
            if got != make(i):
                raise AssertionError("index lookup of record %d gives %r" % (i, got))
        start = max(0, n - p["scan_len"]) // 2
        got = rd.scan(_skey(store, start))
        want = min(p["scan_len"], n - start)
        if got != want:
            raise AssertionError("scan from %d saw %d records, want %d" % (start, got, want))
    finally:
        rd.end()


def _read_loop(store, fn_name, args, lat_args, rounds):
    """Best of ``rounds`` timed passes over ``args`` (a loop of tens of ms is
    easily hit by a neighbour on a shared machine), then the latency pass."""
    rd = store.reader()
    try:
        fn = getattr(rd, fn_name)
        best = None
        for _ in range(max(1, rounds)):
            missing = 0
            with Clock() as clock:
                for a in args:
                    if fn(a) is None:
                        missing += 1
            if missing:
                raise AssertionError("%s: %d of %d lookups found nothing"
                                     % (fn_name, missing, len(args)))
            best = clock.seconds if best is None else min(best, clock.seconds)
        lat = _latencies(fn, lat_args)
    finally:
        rd.end()
    return best, lat


def _put_single(store, n, p, make):
    ids = _ids(n, p["single_ops"], p["seed"] + 5)
    items = [(i, make(i)) for i in ids]
    limit = float(p["single_seconds"])
    pc = time.perf_counter_ns
    lat = []
    gc.collect()
    gc.disable()
    t0 = pc()
    deadline = t0 + int(limit * 1e9)
    try:
        for it in items:
            t = pc()
            store.write([it])
            t2 = pc()
            lat.append(t2 - t)
            if t2 >= deadline:
                break
    finally:
        gc.enable()
    seconds = sum(lat) / 1e9
    return _entry(len(lat), seconds, lat, "put+commit",
                  bound="%d puts or %g s" % (p["single_ops"], limit))


# ---------------------------------------------------------------- mixed

def _mixed_worker(store, n, p, make, wid, barrier, queue):
    try:
        store.open(p["dir"])
        s = datagen.stream(p["seed"] + 100 + wid)
        plan = []
        for _ in range(p["mixed_plan"]):
            i = next(s) % n
            plan.append((True, (i, make(i))) if next(s) % 100 < p["write_pct"]
                        else (False, store.key(i)))
        write, read = store.write, store.obj_once
        pc = time.perf_counter_ns
        seconds = float(p["mixed_seconds"])
        lat_r, lat_w = [], []
        gc.collect()
        gc.disable()
        barrier.wait(60)
        t0 = pc()
        deadline = t0 + int(seconds * 1e9)
        done = 0
        for is_write, arg in itertools.cycle(plan):
            t = pc()
            if is_write:
                write([arg])
                t2 = pc()
                lat_w.append(t2 - t)
            else:
                if read(arg) is None:
                    raise AssertionError("mixed read of %r found nothing" % (arg,))
                t2 = pc()
                lat_r.append(t2 - t)
            done += 1
            if t2 >= deadline:
                break
        gc.enable()
        store.close()
        queue.put((wid, done, (t2 - t0) / 1e9, lat_r, lat_w, None))
    except BaseException as exc:  # report, then die: the parent turns it into a crash
        import traceback
        queue.put((wid, 0, 0.0, [], [], "%s: %s\n%s" % (type(exc).__name__, exc,
                                                        traceback.format_exc())))


def _mixed(store, n, p, make):
    import multiprocessing as mp

    ctx = mp.get_context("fork")     # workers inherit the imported store module
    procs = int(p["procs"])
    barrier = ctx.Barrier(procs)
    queue = ctx.Queue()
    workers = [ctx.Process(target=_mixed_worker, args=(store, n, p, make, w, barrier, queue))
               for w in range(procs)]
    for w in workers:
        w.start()
    got = []
    try:
        for _ in workers:
            got.append(queue.get(timeout=float(p["mixed_seconds"]) + 300))
    finally:
        for w in workers:
            w.join(30)
            if w.is_alive():
                w.kill()
    errors = [g[5] for g in got if g[5]]
    if errors:
        raise RuntimeError("mixed worker failed: %s" % errors[0])
    ops = sum(g[1] for g in got)
    wall = max(g[2] for g in got)
    lat_r = [x for g in got for x in g[3]]
    lat_w = [x for g in got for x in g[4]]
    wp50, wp99 = _pct(lat_w)
    rp50, rp99 = _pct(lat_r)
    return _entry(ops, wall, lat_r + lat_w, "op (read or write)", procs=procs,
                  writes=len(lat_w), reads=len(lat_r), read_p50_us=rp50, read_p99_us=rp99,
                  write_p50_us=wp50, write_p99_us=wp99)


# ---------------------------------------------------------------- the child

def run_size(mod, p, n):
    system = p["system"]
    store = make_store(system, mod, p)
    make = Records(p["seed"])
    res = {}
    notes = []
    extra = {"workloads": res, "records": n, "encoding": ENCODINGS[system],
             "settings": SETTINGS[system], "notes": notes, "machine": _machine(p["dir"])}
    server = isinstance(store, RedisStore)
    term = signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))   # run the finally
    try:
        if server:
            store.start_server(p["dir"])
        store.open(p["dir"])
        notes.extend(store.notes())
        # Write back everything dirty first (untimed): otherwise the kernel's
        # flush of the previous child's writes lands in this one's fsyncs, and
        # the first system after a big writer looked 5x slower than it is.
        _sync()
        t0 = time.perf_counter()
        res["put_batch"] = _load(store, n, p, make)
        extra["load_wall_seconds"] = time.perf_counter() - t0
        if server and store.persistence == "aof":
            time.sleep(1.2)       # let everysec flush the tail of the AOF before measuring
        extra["disk_bytes"] = store.disk_bytes()
        if server:
            extra["redis_used_memory"] = store.info()[1]
        _check(store, n, make, p)

        reads, rounds = int(p["reads"]), int(p["rounds"])
        lat_n = int(p["latency_ops"])
        keys = [store.key(i) for i in _ids(n, reads, p["seed"] + 2)]
        lat_keys = [store.key(i) for i in _ids(n, lat_n, p["seed"] + 3)]
        sec, lat = _read_loop(store, "get", keys, lat_keys, rounds)
        res["get_rand"] = _entry(reads, sec, lat, "get")
        start = _ids(max(1, n - reads), 1, p["seed"] + 4)[0]
        seq = [store.key(i % n) for i in range(start, start + reads)]
        sec, lat = _read_loop(store, "get", seq, seq[:lat_n], rounds)
        res["get_seq"] = _entry(reads, sec, lat, "get")
        sec, lat = _read_loop(store, "obj", keys, lat_keys, rounds)
        res["obj_get"] = _entry(reads, sec, lat, "get+decode")
        scans, slen = int(p["scans"]), int(p["scan_len"])
        starts = [_skey(store, i) for i in _ids(max(1, n - slen), scans, p["seed"] + 6)]
        sec, lat = _read_loop(store, "scan", starts, starts[:max(10, scans // 2)], rounds)
        res["scan"] = _entry(scans * min(slen, n), sec, lat, "%d-record scan" % slen,
                             scans=scans)
        looks = int(p["lookups"])
        emails = [store.ikey(make(i)["email"]) for i in _ids(n, looks, p["seed"] + 7)]
        lat_emails = [store.ikey(make(i)["email"]) for i in _ids(n, lat_n, p["seed"] + 8)]
        sec, lat = _read_loop(store, "idx", emails, lat_emails, rounds)
        res["idx_lookup"] = _entry(looks, sec, lat, "lookup (index, record, decode)")
        _sync()
        res["put_single"] = _put_single(store, n, p, make)
        store.close()
        _sync()
        if store.multiprocess:
            res["mixed"] = _mixed(store, n, p, make)
        else:
            res["mixed"] = {"unavailable": store.why_single}
        if server:
            store.open(p["dir"])
            extra["redis_used_memory_end"] = store.info()[1]
            store.close()
    finally:
        try:
            if server:
                store.close()
        finally:
            if server:
                store.stop_server()
            signal.signal(signal.SIGTERM, term)
    load = res["put_batch"]
    return {"ops": load["ops"], "seconds": load["seconds"], "extra": extra}


def _sync():
    t = time.perf_counter()
    os.sync()
    return time.perf_counter() - t


def _machine(path):
    """Disk and kernel facts for the report (the runner records CPU/RAM/OS)."""
    info = {"kernel": os.uname().release}
    try:
        dev = os.stat(path).st_dev
        major, minor = os.major(dev), os.minor(dev)
        base = "/sys/dev/block/%d:%d" % (major, minor)
        name = os.path.basename(os.path.realpath(base))
        info["disk_device"] = name
        for attr, key in (("queue/rotational", "rotational"), ("size", "sectors")):
            p = os.path.join("/sys/block", name, attr)
            if os.path.exists(p):
                with open(p) as f:
                    info[key] = int(f.read().strip())
        if "sectors" in info:
            info["disk_gib"] = round(info.pop("sectors") * 512 / 2**30)
        model = os.path.join("/sys/block", name, "device", "model")
        if os.path.exists(model):
            with open(model) as f:
                info["disk_model"] = f.read().strip()
        st = os.statvfs(path)
        info["free_gib"] = round(st.f_bavail * st.f_frsize / 2**30)
    except (OSError, ValueError):
        pass
    return info


WORKLOADS = []
for _tag, _n in SIZES:
    _w = Workload("n" + _tag, "%s records" % _tag,
                  "load %s records (the batched put), then every other workload on them" % _tag)
    WORKLOADS.append(_w)


def _bind(n):
    def run(mod, p):
        return run_size(mod, p, n)
    return run


for _tag, _n in SIZES:
    globals()["n" + _tag] = _bind(_n)


# ---------------------------------------------------------------- report

def _size_rows(doc):
    """{op: {system: {n: entry}}} from the children's extra."""
    out = {}
    for r in doc["results"]:
        if r.get("status") != "ok":
            continue
        ex = r.get("extra") or {}
        n = ex.get("records")
        for op, e in (ex.get("workloads") or {}).items():
            out.setdefault(op, {}).setdefault(r["system"], {})[n] = e
    return out


def _fmt_us(x):
    if x is None:
        return "-"
    if x >= 1000:
        return "%.3g ms" % (x / 1000.0) if x < 100000 else "%.0f ms" % (x / 1000.0)
    return "%.3g µs" % x if x >= 1 else "%.2f µs" % x


def _fmt_bytes(b):
    if b is None:
        return "-"
    for div, unit in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if b >= div:
            return "%.3g %s" % (b / div, unit)
    return "%d B" % b


def peers_report(doc, fmt):
    import report

    rows = _size_rows(doc)
    labels = {s["name"]: s["label"] for s in doc["systems"]}
    systems = [s["name"] for s in doc["systems"]]
    sizes = sorted({n for by in rows.values() for d in by.values() for n in d})
    tag = {n: t for t, n in SIZES}
    titles = {o[0]: (o[1], o[2], o[3]) for o in OPS}
    md = fmt == "markdown"
    lines = []

    def table(head, body, title):
        if md:
            lines.extend(["", title, "", "| " + " | ".join(head) + " |",
                          "|---" + "|---:" * (len(head) - 1) + "|"]
                         + ["| " + " | ".join(r) + " |" for r in body])
        else:
            widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
            fl = lambda cells: "  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i])
                                         for i, c in enumerate(cells)).rstrip()
            lines.extend(["", title, fl(head), "  ".join("-" * w for w in widths)]
                         + [fl(r) for r in body])

    # Why a cell is empty: n/a reasons per (op, system).
    na = {}
    for r in doc["results"]:
        for op, e in ((r.get("extra") or {}).get("workloads") or {}).items():
            if "unavailable" in e:
                na[(op, r["system"])] = e["unavailable"]
    for op in OP_NAMES:
        by = rows.get(op, {})
        if not by:
            continue
        title, unit, desc = titles[op]
        head = ["system"]
        for n in sizes:
            head += ["%s ops/s" % tag[n], "%s p50 / p99" % tag[n], "%s ours/peer" % tag[n]]
        body = []
        ours = by.get(OURS, {})
        for s in systems:
            d = by.get(s)
            if not d or not any("ops_per_sec" in e for e in d.values()):
                if (op, s) in na:
                    body.append([labels[s]] + ["n/a"] * (3 * len(sizes)))
                continue
            line = [labels[s]]
            for n in sizes:
                e = d.get(n)
                if not e or "ops_per_sec" not in e:
                    line += ["-", "-", "-"]
                    continue
                line.append(report.fmt_rate(e["ops_per_sec"]))
                line.append("%s / %s" % (_fmt_us(e.get("p50_us")), _fmt_us(e.get("p99_us"))))
                o = ours.get(n)
                line.append(report.fmt_ratio(o["ops_per_sec"] / e["ops_per_sec"])
                            if o and e["ops_per_sec"] and "ops_per_sec" in o else "-")
            body.append(line)
        lat_of = next((e.get("latency_of") for d in by.values() for e in d.values()
                       if e.get("latency_of")), unit)
        table(head, body, "**%s** (`%s`): %s. ops/s counts %ss; p50/p99: latency of one %s; "
                          "ours/peer = zlmdb.lmdb ops/s / this system's." % (
                              title, op, desc, unit, lat_of))
        if md:
            png = "latest-peers%s-%s.png" % ("" if doc["kind"] == "full" else "-" + doc["kind"],
                                             op)
            if os.path.exists(os.path.join(BENCH_DIR, "results", png)):
                lines.extend(["", "![%s: ops/s against record count](../bench/results/%s)"
                              % (title, png)])
        notes = sorted({"%s: %s" % (labels[s], na[(op, s2)]) for (op2, s2) in na
                        if op2 == op for s in [s2]})
        if notes:
            lines.append("")
            lines.extend(("- " if md else "") + n for n in notes)
    # On-disk size after the load, per system and size.
    disk = {}
    mem = {}
    for r in doc["results"]:
        ex = r.get("extra") or {}
        if r.get("status") == "ok" and ex.get("records"):
            disk.setdefault(r["system"], {})[ex["records"]] = ex.get("disk_bytes")
            if ex.get("redis_used_memory") is not None:
                mem.setdefault(r["system"], {})[ex["records"]] = ex["redis_used_memory"]
    if disk:
        head = ["system"] + ["%s on disk" % tag[n] for n in sizes] + \
            ["%s bytes/record" % tag[sizes[-1]]]
        body = []
        for s in systems:
            if s not in disk:
                continue
            d = disk[s]
            last = d.get(sizes[-1])
            line = [labels[s]] + [_fmt_bytes(d.get(n)) for n in sizes]
            line.append("%.0f" % (last / sizes[-1]) if last is not None else "-")
            body.append(line)
        table(head, body, "**On-disk size** right after the load (allocated blocks of every "
                          "file in the store's directory; Redis: the AOF directory, the "
                          "server's memory is listed below):")
        if mem:
            lines.append("")
            for s in systems:
                if s in mem:
                    lines.append(("- " if md else "") + "%s used_memory after the load: %s" % (
                        labels[s], ", ".join("%s %s" % (tag[n], _fmt_bytes(mem[s][n]))
                                             for n in sizes if n in mem[s])))
    # Who was what: encodings and settings.
    lines.append("")
    lines.append(("**Settings and encodings per system:**" if md else "Settings:"))
    lines.append("")
    for s in systems:
        ex = next((r.get("extra") for r in doc["results"]
                   if r["system"] == s and r.get("status") == "ok"), None)
        if ex:
            lines.append(("- **%s**: %s; values: %s" if md else "%s: %s; values: %s")
                         % (labels[s], ex.get("settings"), ex.get("encoding")))
    machine = next((r["extra"].get("machine") for r in doc["results"]
                    if r.get("status") == "ok" and (r.get("extra") or {}).get("machine")), None)
    if machine:
        lines.append("")
        lines.append("Disk: %s%s, %s GiB, %s; kernel %s." % (
            machine.get("disk_device", "?"),
            " (%s)" % machine["disk_model"] if machine.get("disk_model") else "",
            machine.get("disk_gib", "?"),
            {0: "non-rotational", 1: "reported rotational by the kernel (a virtual disk; "
                "the backing storage is not known from inside)"}.get(machine.get("rotational"),
                                                                     "?"),
            machine.get("kernel")))
    return lines


def peers_chart(path, suite, doc):
    """One PNG per workload: ops/s against record count, both log scale, a
    line per system; plus an overview grid of all of them at ``path``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install matplotlib)"
    rows = _size_rows(doc)
    if not rows:
        return "nothing to plot"
    labels = {s["name"]: s["label"] for s in doc["systems"]}
    systems = [s["name"] for s in doc["systems"]]
    style = {}
    for k, s in enumerate(systems):
        ours = s in (OURS, ORM)
        style[s] = dict(color="C%d" % (k % 10), marker="osD^v<>ph*"[k % 10],
                        linewidth=2.6 if ours else 1.4, markersize=7 if ours else 5,
                        linestyle="-" if ours or k % 2 else "--")
    m = doc["machine"]
    sub = "%s mode, %s; %s, %s CPUs, Python %s" % (
        doc["kind"], doc["started_utc"][:10], m.get("cpu_model"), m.get("cpu_count"),
        m.get("runner_python"))
    titles = {o[0]: (o[1], o[2]) for o in OPS}

    def draw(ax, op, small):
        by = rows.get(op, {})
        for s in systems:
            d = by.get(s) or {}
            pts = sorted((n, e["ops_per_sec"]) for n, e in d.items()
                         if e.get("ops_per_sec"))
            if pts:
                ax.plot([x for x, _ in pts], [y for _, y in pts], label=labels[s], **style[s])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("records in the store (log scale)")
        ax.set_ylabel("%ss per second (log scale)" % titles[op][1])
        ax.set_title(titles[op][0], fontsize=10 if small else 12)
        ax.grid(True, which="both", alpha=0.25)
        ns = sorted({n for d in by.values() for n in d})
        ax.set_xticks(ns)
        ax.set_xticklabels(["%s" % dict((n, t) for t, n in SIZES).get(n, n) for n in ns])

    base = path[:-4] if path.endswith(".png") else path
    for op in OP_NAMES:
        if op not in rows:
            continue
        fig, ax = plt.subplots(figsize=(9, 5.5))
        draw(ax, op, False)
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=9)
        fig.suptitle("peers: %s\n%s" % (titles[op][0], sub), fontsize=9)
        fig.tight_layout()
        fig.savefig("%s-%s.png" % (base, op), dpi=100)
        plt.close(fig)
    ops = [op for op in OP_NAMES if op in rows]
    cols = 4
    nrows = (len(ops) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(18, 4.3 * nrows), squeeze=False)
    for ax, op in zip([a for r in axes for a in r], ops):
        draw(ax, op, True)
    for ax in [a for r in axes for a in r][len(ops):]:
        ax.axis("off")
    handles, lbls = [], []
    for ax in [a for r in axes for a in r]:
        for h, l in zip(*ax.get_legend_handles_labels()):
            if l not in lbls:
                handles.append(h)
                lbls.append(l)
    fig.legend(handles, lbls, loc="lower center", ncol=5, fontsize=9)
    fig.suptitle("zlmdb and peers: throughput against record count\n%s" % sub, fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 0.97))
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return None


def records_label(names):
    return ", ".join(t for t, _n in SIZES if "n" + t in names) or "-"


_COMMON = {"seed": 42, "batch": 1000, "scan_len": 1000, "procs": 4, "write_pct": 10,
           "rounds": 3}
SUITE = Suite(
    name="peers",
    title="zlmdb against SQLite, Redis, RocksDB, LevelDB, diskcache, py-lmdb, upstream",
    systems=SYSTEMS,
    workloads=WORKLOADS,
    ours=OURS,
    modes={
        "full": dict(_COMMON, records="10k, 100k, 1m", repeat=1, reads=30000, scans=50,
                     lookups=30000, latency_ops=2000, single_ops=2000, single_seconds=5,
                     mixed_seconds=5, mixed_plan=20000, timeout=3600),
        "long": dict(_COMMON, records="10k, 100k, 1m, 10m", repeat=1, reads=30000, scans=50,
                     lookups=30000, latency_ops=2000, single_ops=2000, single_seconds=5,
                     mixed_seconds=5, mixed_plan=20000, timeout=3600),
        "quick": dict(_COMMON, records="10k", repeat=1, reads=2000, scans=10, lookups=1000,
                      rounds=1, latency_ops=300, single_ops=100, single_seconds=1, mixed_seconds=1,
                      mixed_plan=2000, timeout=600),
    },
    mode_workloads={"quick": ["n10k"], "full": ["n10k", "n100k", "n1m"],
                    "long": ["n10k", "n100k", "n1m", "n10m"]},
    extra_report=peers_report,
    records_label=records_label,
    main_table=False,
    chart=peers_chart,
    settings=dict(SETTINGS, timing=(
        "load: each transaction of `batch` records timed (record dicts are built "
        "untimed, encoding and index upkeep are timed); read workloads: best of `rounds` "
        "timed passes of `reads` ops (`scans` scans, `lookups` lookups) in one read "
        "transaction, cyclic GC off; latency from a separate pass timing each op "
        "(perf_counter_ns); put_single: each put+commit timed, bounded by single_ops or "
        "single_seconds; mixed: `procs` forked processes for mixed_seconds each, ops/s = "
        "total ops / longest worker time")),
)
