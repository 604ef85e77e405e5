"""The ORM suite: our ``zlmdb`` object layer against upstream zlmdb 26.10.1.

Both systems run the very same workload code below: ``module`` is whichever
``zlmdb`` the child imported, ours from the project's .venv (installed
editable there) or upstream's from ``build/upstream-venv/`` (created by
tests/compat/upstream_env.py with that pin, never in .venv).  The upstream child runs with
``python -E -s`` from bench/, so neither PYTHONPATH nor the repository's
``python/`` directory can slip our package in; the runner checks the version
and the location of the ``zlmdb`` it imports before timing anything.

Workloads come in sizes: ``<name>_10k``, ``<name>_100k`` and ``<name>_1m``
(records in the map; ``--records N`` overrides the size of every selected
workload).  Quick mode runs the 10k ones, full mode 10k and 100k; the 1m ones
run only when named (``--workloads cbor_insert_1m,...``).

Data: ``size`` user objects (11 fields: two UUIDs, four strings, ints, a
float, a bool, an aware datetime, a list of str) drawn from the splitmix64
stream of ``seed`` (bench/datagen.py), the same for both systems.  Only the
operation loop is timed, cyclic GC off; data generation, pre-population and
the commit of write workloads are not (``extra``).  Before (read workloads)
or after (write workloads) the loop, the child reads records back and
compares them with the source data, so a fast-but-wrong system shows WRONG.

Standard library only at import time (children in both virtualenvs import
it); numpy (timestamp keys) and FlatBuffers are imported inside workloads.
"""

import datetime
import importlib
import json
import os
import subprocess
import sys
import time
import uuid

import datagen
from harness import REPO_DIR, Clock, PythonSystem, Suite, Target, Workload

MAXSIZE = 4 << 30
SIZES = [("10k", 10**4), ("100k", 10**5), ("1m", 10**6)]
UPSTREAM_VERSION = "26.10.1"
# The compatibility tests' venv (tests/compat/upstream_env.py, whose default
# pin is this release): the figures in docs/benchmarks.md are for this one.
# The probe replaces it with the path upstream_env returns for the pin.
UPSTREAM_VENV_PYTHON = os.path.join(REPO_DIR, "build", "upstream-venv", "bin", "python")

# (base name, title, description, min ratio ours/upstream or None)
BASES = [
    ("cbor_insert", "CBOR insert",
     "MapUuidCbor: pmap[txn, oid] = user for every record, one write txn", 5.0),
    ("cbor_get", "CBOR get",
     "MapUuidCbor: pmap[txn, oid] for every record in shuffled order, one read txn", 5.0),
    ("indexed_insert", "CBOR insert + 2 indexes",
     "MapUuidCbor with a unique MapStringUuid index (authid) and a non-unique "
     "MapUuidUuidUuid index ((realm, oid) -> oid), one write txn", 10.0),
    ("json_insert", "JSON insert",
     "MapStringJson: pmap[txn, authid] = user, one write txn", 5.0),
    ("json_get", "JSON get",
     "MapStringJson: pmap[txn, authid] in shuffled order, one read txn", 5.0),
    ("fb_insert", "FlatBuffers insert",
     "MapTimestampUuidFlatBuffers: pmap[txn, (ts, oid)] = user via build(), one write txn",
     None),
    ("fb_get", "FlatBuffers get",
     "MapTimestampUuidFlatBuffers: pmap[txn, (ts, oid)] (cast(), lazy) in shuffled order",
     None),
    ("select_all", "select (values)",
     "MapUuidCbor: for v in pmap.select(txn, return_keys=False): every record, decoded",
     10.0),
    ("count_range", "count_range",
     "MapUuidCbor: count_range over 16 consecutive UUID ranges covering the slot, "
     "`count_rounds` times; one op = one record counted", 10.0),
    ("indexed_update", "CBOR update + 2 indexes",
     "indexed_insert's map, filled: every record rewritten with a new authid and the next "
     "realm (both index entries move), one write txn", None),
    ("index_lookup", "index lookup",
     "indexed_insert's map, filled: oid = by_authid[txn, authid], then pmap[txn, oid], "
     "for every record in shuffled order, one read txn", None),
    ("truncate", "truncate",
     "MapUuidCbor: pmap.truncate(txn) of a slot holding every record (the only slot, so "
     "upstream's delete-to-end-of-database bug does the same work); op = record deleted",
     None),
]

# Declared-record variants (issue 14): the same data as a class with
# __slots__ and annotations.  Ours stores it with record= (C reads and
# builds the object); upstream, which has no record=, with that class's own
# marshal/parse -- the same bytes on disk, so the pair compares the paths.
REC_BASES = [
    ("rec_cbor_insert", "CBOR insert, declared record",
     "MapUuidCbor(record=RecUser) (upstream: RecUser.marshal): pmap[txn, oid] = user, "
     "one write txn", 6.0),
    ("rec_cbor_get", "CBOR get, declared record",
     "MapUuidCbor(record=RecUser) (upstream: RecUser.parse): pmap[txn, oid] in shuffled "
     "order, one read txn", 6.0),
    ("rec_json_insert", "JSON insert, declared record",
     "MapStringJson(record=RecUserJson) (upstream: marshal): pmap[txn, authid] = user", 6.0),
    ("rec_json_get", "JSON get, declared record",
     "MapStringJson(record=RecUserJson) (upstream: parse): pmap[txn, authid], shuffled", 6.0),
    ("rec_indexed_insert", "CBOR insert + 2 indexes, declared record",
     "as indexed_insert, with record=RecUser and the indexes on field names, 'authid' "
     "and ('realm', 'oid') (upstream: marshal and lambdas)", 8.0),
    ("rec_select_all", "select (values), declared record",
     "as select_all, values built by the declared record (upstream: parse)", 10.0),
    ("rec_indexed_update", "CBOR update + 2 indexes, declared record",
     "as indexed_update, with record=RecUser and the indexes on field names", 8.0),
    ("rec_index_lookup", "index lookup, declared record",
     "as index_lookup, with record=RecUser and the indexes on field names", 6.0),
]
BASES += REC_BASES

OURS = "zlmdb"
UPSTREAM = "upstream"


def _size_of(name):
    base, _, tag = name.rpartition("_")
    return base, dict(SIZES)[tag]


WORKLOADS = []
TARGETS = []
for _tag, _n in SIZES:
    for _base, _title, _desc, _ratio in BASES:
        _name = "%s_%s" % (_base, _tag)
        _w = Workload(_name, "%s, %s" % (_title, _tag), "%s (%s records)" % (_desc, _tag))
        _w.default = _tag != "1m"     # 10^6: only when named (minutes per pair)
        WORKLOADS.append(_w)
        if _ratio is not None:
            TARGETS.append(Target(_name, UPSTREAM, _ratio, ">=%gx upstream" % _ratio))


class UpstreamSystem(PythonSystem):
    """Upstream zlmdb in its own virtualenv, isolated from our package.

    The venv comes from tests/compat/upstream_env.py (created on first use
    unless $ZLMDB_BENCH_UPSTREAM_PYTHON names another interpreter); the child
    runs with ``-E -s`` (no PYTHONPATH, no user site) from bench/, and the
    probe refuses the system unless ``import zlmdb`` there is upstream
    26.10.1 from inside that interpreter's prefix.
    """

    FLAGS = ["-E", "-s"]

    def probe(self):
        if not os.environ.get(self.python_env or ""):
            try:
                sys.path.insert(0, os.path.join(REPO_DIR, "tests", "compat"))
                import upstream_env

                # the venv upstream_env made for this pin, wherever it put it
                self._python = str(upstream_env.ensure_upstream_venv(
                    pin="zlmdb==" + UPSTREAM_VERSION))
            except Exception as exc:  # no network, pip failure, ...
                return "cannot create the upstream venv: %s" % exc
            finally:
                sys.path.pop(0)
        reason = PythonSystem.probe(self)
        if reason is not None:
            return reason
        code = ("import json, sys, zlmdb; print(json.dumps([zlmdb.__version__, "
                "zlmdb.__file__, sys.prefix]))")
        try:
            proc = subprocess.run([self.python] + self.FLAGS + ["-c", code], cwd=self._cwd(),
                                  capture_output=True, text=True, timeout=120)
            version, path, prefix = json.loads(proc.stdout.strip().splitlines()[-1])
        except Exception as exc:
            return "cannot inspect its zlmdb: %s" % exc
        path = os.path.realpath(path)
        if path.startswith(os.path.join(os.path.realpath(REPO_DIR), "python") + os.sep):
            return "its `import zlmdb` finds our package (%s), not upstream" % path
        if not path.startswith(os.path.realpath(prefix) + os.sep):
            return "its zlmdb comes from outside its prefix: %s" % path
        if version != UPSTREAM_VERSION:
            return "its zlmdb is %s, want %s" % (version, UPSTREAM_VERSION)
        return None

    @staticmethod
    def _cwd():
        from harness import BENCH_DIR

        return BENCH_DIR

    def command(self, suite, workload, params, dbdir):
        argv = PythonSystem.command(self, suite, workload, params, dbdir)
        return argv[:1] + self.FLAGS + argv[1:]


SYSTEMS = [
    PythonSystem(OURS, "zlmdb (ours)", module="zlmdb", python_env="ZLMDB_BENCH_ZLMDB_PYTHON",
                 description="ours: `import zlmdb` in the runner's interpreter (.venv)"),
    UpstreamSystem(UPSTREAM, "upstream %s" % UPSTREAM_VERSION, module="zlmdb",
                   python=UPSTREAM_VENV_PYTHON, python_env="ZLMDB_BENCH_UPSTREAM_PYTHON",
                   description="upstream zlmdb==%s from PyPI in build/upstream-venv "
                               "(tests/compat/upstream_env.py), run with -E -s"
                               % UPSTREAM_VERSION),
]


def scaling_report(doc, fmt):
    """Second table: ops/s per size for each workload and system, and how
    throughput changes from the smallest size to each larger one."""
    if isinstance(doc["params"].get("records"), int):
        return []    # --records N: every workload ran N records, whatever its name
    rows = {}
    for r in doc["results"]:
        try:
            base, n = _size_of(r["workload"])
        except (KeyError, ValueError):
            continue
        if r.get("status") == "ok":
            rows.setdefault(base, {}).setdefault(r["system"], {})[n] = r["ops_per_sec"]
    sizes = sorted({n for by_sys in rows.values() for d in by_sys.values() for n in d})
    if len(sizes) < 2:
        return []
    import report

    labels = {s["name"]: s["label"] for s in doc["systems"]}
    systems = [s["name"] for s in doc["systems"]]
    tag = {n: t for t, n in SIZES}
    head = ["workload"]
    for s in systems:
        head += ["%s %s" % (labels[s], tag[n]) for n in sizes]
        head += ["%s %s/%s" % (labels[s], tag[n], tag[sizes[0]]) for n in sizes[1:]]
    if OURS in systems and UPSTREAM in systems:
        head += ["ours/upstream %s" % tag[n] for n in sizes]
    body = []
    for base, _t, _d, _r in BASES:
        if base not in rows:
            continue
        line = [base]
        for s in systems:
            d = rows[base].get(s, {})
            line += [report.fmt_rate(d.get(n)) for n in sizes]
            line += [report.fmt_ratio(d[n] / d[sizes[0]]) if d.get(n) and d.get(sizes[0])
                     else report.NA for n in sizes[1:]]
        if OURS in systems and UPSTREAM in systems:
            o, u = rows[base].get(OURS, {}), rows[base].get(UPSTREAM, {})
            line += [report.fmt_ratio(o[n] / u[n]) if o.get(n) and u.get(n) else report.NA
                     for n in sizes]
        body.append(line)
    title = ("Scaling: ops/s per map size, the change from %s records "
             "(1.00x = unchanged), and ours/upstream per size" % tag[sizes[0]])
    if fmt == "markdown":
        return (["", title + ":", "", "| " + " | ".join(head) + " |",
                 "|---" + "|---:" * (len(head) - 1) + "|"]
                + ["| " + " | ".join(r) + " |" for r in body])
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    fmt_line = lambda cells: "  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i])
                                       for i, c in enumerate(cells)).rstrip()
    return (["", title, fmt_line(head), "  ".join("-" * w for w in widths)]
            + [fmt_line(r) for r in body])


def records_label(names):
    """"10k, 100k": the sizes of the selected workloads, for the report."""
    tags = []
    for tag, _n in SIZES:
        if any(name.endswith("_" + tag) for name in names):
            tags.append(tag)
    return ", ".join(tags) or "-"


SUITE = Suite(
    name="orm",
    title="ORM: zlmdb vs upstream zlmdb %s" % UPSTREAM_VERSION,
    systems=SYSTEMS,
    workloads=WORKLOADS,
    ours=OURS,
    modes={
        # `records` is informational (the size is in each workload's name; the
        # runner replaces it with records_label()); `--records N` overrides
        # every selected workload's size.
        "full": {"records": "10k, 100k", "repeat": 3, "seed": 42, "count_rounds": 5},
        "quick": {"records": "10k", "repeat": 1, "seed": 42, "count_rounds": 5},
    },
    mode_workloads={"quick": [w.name for w in WORKLOADS if w.name.endswith("_10k")]},
    targets=TARGETS,
    extra_report=scaling_report,
    records_label=records_label,
    settings={
        "database": "zlmdb.Database(dir, maxsize=4 GiB), every other option at its default "
                    "(durable commits); maps built with explicit slots (1, indexes 2 and 3), "
                    "no attach_table",
        "data": "bench/suites/orm.py: `size` users from splitmix64(seed) (bench/datagen.py): "
                "oid and realm (one of 16) UUIDs, name, unique authid, email, age, karma, "
                "balance (float), active, created (aware datetime), tags; CBOR marshal keeps "
                "the UUIDs and datetime, JSON marshal uses str/isoformat stand-ins; "
                "FlatBuffers build() writes oid bytes, seq, name, authid, email, karma, "
                "balance, active",
        "timing": "only the operation loop (perf_counter), cyclic GC off; data generation, "
                  "pre-population and the commit of write txns are not timed (extra)",
        "check": "write workloads read back every 97th record (and the index entries) after "
                 "the commit and compare with the source; read workloads compare a sample "
                 "before timing and count what the loop saw; a mismatch is WRONG",
    },
)


# ---------------------------------------------------------------- data

class _Rng:
    def __init__(self, seed):
        self._s = datagen.stream(seed)

    def u64(self):
        return next(self._s)

    def below(self, n):
        return next(self._s) % n

    def word(self, lo, hi):
        s = self._s
        return "".join(_LETTERS[next(s) % 26] for _ in range(lo + next(s) % (hi - lo + 1)))


_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_FIRST = ["Alice", "Bob", "Chloé", "Dmitri", "Eva", "François", "Günther", "Hana", "Ibrahim",
          "Jürgen", "Kenji", "Léa", "Mateo", "Nuño", "Olga", "Priya", "Zoë", "Søren"]
_UTC = datetime.timezone.utc
_EPOCH = datetime.datetime(2020, 1, 1, tzinfo=_UTC)
_EPOCH_NS = 1577836800 * 10**9
_REALMS = [uuid.UUID(int=(0x5EA1 << 112) | i) for i in range(16)]


class User:
    __slots__ = ("oid", "realm", "seq", "name", "authid", "email", "age", "karma", "balance",
                 "active", "created", "tags")

    def marshal(self):
        return {"oid": self.oid, "realm": self.realm, "seq": self.seq, "name": self.name,
                "authid": self.authid, "email": self.email, "age": self.age,
                "karma": self.karma, "balance": self.balance, "active": self.active,
                "created": self.created, "tags": self.tags}

    @staticmethod
    def parse(d):
        u = User()
        u.oid, u.realm, u.seq, u.name = d["oid"], d["realm"], d["seq"], d["name"]
        u.authid, u.email, u.age, u.karma = d["authid"], d["email"], d["age"], d["karma"]
        u.balance, u.active, u.created, u.tags = d["balance"], d["active"], d["created"], \
            d["tags"]
        return u

    def marshal_json(self):
        d = self.marshal()
        d["oid"], d["realm"] = str(self.oid), str(self.realm)
        d["created"] = self.created.isoformat()
        return d

    @staticmethod
    def parse_json(d):
        u = User.parse(d)
        u.oid, u.realm = uuid.UUID(d["oid"]), uuid.UUID(d["realm"])
        u.created = datetime.datetime.fromisoformat(d["created"])
        return u


class RecUser:
    """The bench user as a declared record (rec_* workloads)."""
    __slots__ = User.__slots__
    oid: uuid.UUID
    realm: uuid.UUID
    seq: int
    name: str
    authid: str
    email: str
    age: int
    karma: int
    balance: float
    active: bool
    created: datetime.datetime
    tags: list[str]

    marshal = User.marshal

    @staticmethod
    def parse(d):
        u = RecUser()
        for k in RecUser.__slots__:
            setattr(u, k, d[k])
        return u


class RecUserJson:
    """The same in JSON's types: UUIDs and the datetime as strings."""
    __slots__ = User.__slots__
    oid: str
    realm: str
    seq: int
    name: str
    authid: str
    email: str
    age: int
    karma: int
    balance: float
    active: bool
    created: str
    tags: list[str]

    marshal = User.marshal

    @staticmethod
    def parse(d):
        u = RecUserJson()
        for k in RecUserJson.__slots__:
            setattr(u, k, d[k])
        return u


def _as_record(u, cls):
    r = cls()
    for k in User.__slots__:
        setattr(r, k, getattr(u, k))
    if cls is RecUserJson:
        r.oid, r.realm, r.created = str(u.oid), str(u.realm), u.created.isoformat()
    return r


def users(n, seed):
    rng = _Rng(seed)
    out = []
    for i in range(n):
        u = User()
        u.oid = uuid.UUID(int=rng.u64() << 64 | rng.u64())
        u.realm = _REALMS[rng.below(16)]
        u.seq = i
        u.name = _FIRST[rng.below(len(_FIRST))]
        u.authid = "user-%s-%d" % (rng.word(4, 8), i)
        u.email = "%s@example.%s" % (rng.word(3, 10), ("com", "org", "net", "de")[rng.below(4)])
        u.age = rng.below(100)
        u.karma = rng.below(1 << 31)
        u.balance = rng.below(10**8) / 100.0
        u.active = rng.below(2) == 1
        # Microsecond resolution, distinct per record (also the FlatBuffers key).
        u.created = _EPOCH + datetime.timedelta(microseconds=i * 1000 + rng.below(1000))
        u.tags = [rng.word(3, 8) for _ in range(rng.below(4))]
        out.append(u)
    return out


def _created_ns(u):
    return _EPOCH_NS + (u.created - _EPOCH) // datetime.timedelta(microseconds=1) * 1000


def _same(a, b):
    return a is not None and b is not None and a.marshal() == b.marshal()


# ---------------------------------------------------------------- FlatBuffers

def _flatbuffers():
    """The FlatBuffers runtime importable here: PyPI ``flatbuffers`` (ours'
    venv), else upstream's vendored ``zlmdb.flatbuffers``."""
    try:
        import flatbuffers
    except ImportError:
        from zlmdb import flatbuffers
    name = flatbuffers.__name__
    return (flatbuffers, importlib.import_module(name + ".table"),
            importlib.import_module(name + ".number_types"),
            importlib.import_module(name + ".encode"), importlib.import_module(name + ".packer"))


_FB = []


def _fb_codec():
    if not _FB:
        _FB.append(_make_fb_codec())
    return _FB[0]


def _make_fb_codec():
    fb, table, N, encode, packer = _flatbuffers()

    def build(u, builder):
        oid = builder.CreateByteVector(u.oid.bytes)
        name = builder.CreateString(u.name)
        authid = builder.CreateString(u.authid)
        email = builder.CreateString(u.email)
        builder.StartObject(8)
        builder.PrependUOffsetTRelativeSlot(0, oid, 0)
        builder.PrependUint64Slot(1, u.seq, 0)
        builder.PrependUOffsetTRelativeSlot(2, name, 0)
        builder.PrependUOffsetTRelativeSlot(3, authid, 0)
        builder.PrependUOffsetTRelativeSlot(4, email, 0)
        builder.PrependInt64Slot(5, u.karma, 0)
        builder.PrependFloat64Slot(6, u.balance, 0.0)
        builder.PrependBoolSlot(7, u.active, False)
        return builder.EndObject()

    class UserView:
        """What cast() returns: a lazy accessor over the buffer."""
        __slots__ = ("_tab",)

        def __init__(self, buf):
            self._tab = table.Table(buf, encode.Get(packer.uoffset, buf, 0))

        def _off(self, slot):
            return self._tab.Offset(4 + 2 * slot)

        def oid(self):
            o = self._off(0)
            a = self._tab.Vector(o)
            return uuid.UUID(bytes=bytes(self._tab.Bytes[a:a + self._tab.VectorLen(o)]))

        def _str(self, slot):
            return self._tab.String(self._off(slot) + self._tab.Pos).decode("utf8")

        def _num(self, slot, flags):
            o = self._off(slot)      # 0: the field equals its default and was not written
            return self._tab.Get(flags, o + self._tab.Pos) if o else 0

        def fields(self):
            return (self.oid(), self._num(1, N.Uint64Flags), self._str(2), self._str(3),
                    self._str(4), self._num(5, N.Int64Flags), self._num(6, N.Float64Flags),
                    bool(self._num(7, N.BoolFlags)))

    def expect(u):
        return (u.oid, u.seq, u.name, u.authid, u.email, u.karma, u.balance, u.active)

    return build, UserView, expect, fb.__name__


# ---------------------------------------------------------------- helpers


def _notes(zlmdb):
    return ["zlmdb %s from %s" % (getattr(zlmdb, "__version__", "?"),
                                  os.path.dirname(os.path.dirname(zlmdb.__file__)))]


def _close(db):
    close = getattr(db, "close", None)   # upstream's Database has no close()
    if close is not None:
        close()


def _open(zlmdb, p):
    return zlmdb.Database(p["dir"], maxsize=MAXSIZE)


def _cbor_map(zlmdb, slot=1):
    return zlmdb.MapUuidCbor(slot, marshal=User.marshal, unmarshal=User.parse)


def _json_map(zlmdb, slot=1):
    return zlmdb.MapStringJson(slot, marshal=User.marshal_json, unmarshal=User.parse_json)


def _fb_map(zlmdb, slot=1):
    build, view, _e, _n = _fb_codec()
    return zlmdb.MapTimestampUuidFlatBuffers(slot, build=build, cast=view)


def _fb_key(u):
    import numpy as np

    return (np.datetime64(_created_ns(u), "ns"), u.oid)


def _key(kind):
    if kind in ("json", "rjson"):
        return lambda u: u.authid
    if kind == "fb":
        return _fb_key
    return lambda u: u.oid


def _has_records(zlmdb):
    return getattr(zlmdb, "RecordDecodeError", None) is not None


def _rec_cbor_map(zlmdb, slot=1):
    if _has_records(zlmdb):
        return zlmdb.MapUuidCbor(slot, record=RecUser)
    return zlmdb.MapUuidCbor(slot, marshal=RecUser.marshal, unmarshal=RecUser.parse)


def _rec_json_map(zlmdb, slot=1):
    if _has_records(zlmdb):
        return zlmdb.MapStringJson(slot, record=RecUserJson)
    return zlmdb.MapStringJson(slot, marshal=RecUserJson.marshal, unmarshal=RecUserJson.parse)


def _make_map(zlmdb, kind):
    return {"cbor": _cbor_map, "json": _json_map, "fb": _fb_map, "rcbor": _rec_cbor_map,
            "rjson": _rec_json_map}[kind](zlmdb)


def _check_values(zlmdb, db, pmap, kind, us, keys, step=97):
    with db.begin() as txn:
        for i in range(0, len(us), step):
            got = pmap[txn, keys[i]]
            if kind == "fb":
                _b, _v, expect, _n = _fb_codec()
                ok = got is not None and got.fields() == expect(us[i])
            else:
                ok = _same(got, us[i])
            if not ok:
                raise AssertionError("record %d reads back wrong: %r" % (i, got))
        total = pmap.count(txn)
    if total != len(us):
        raise AssertionError("count() is %d, expected %d" % (total, len(us)))


def _populate(db, pmap, us, keys):
    with db.begin(write=True) as txn:
        for u, k in zip(us, keys):
            pmap[txn, k] = u


def _size(p, n):
    return p["records"] if isinstance(p.get("records"), int) else n


def _prepare(zlmdb, p, n, kind):
    t0 = time.perf_counter()
    us = users(_size(p, n), p["seed"])
    if kind in ("rcbor", "rjson"):
        us = [_as_record(u, RecUser if kind == "rcbor" else RecUserJson) for u in us]
    keyf = _key(kind)
    keys = [keyf(u) for u in us]
    db = _open(zlmdb, p)
    pmap = _make_map(zlmdb, kind)
    return us, keys, db, pmap, t0


# ---------------------------------------------------------------- workloads

def _timed_writes(db, pmap, us, keys):
    """pmap[txn, k] = u for each pair in one write transaction, the loop
    timed: (the Clock, the commit's seconds)."""
    with db.begin(write=True) as txn:
        with Clock() as clock:
            for u, k in zip(us, keys):
                pmap[txn, k] = u
        t = time.perf_counter()
    return clock, time.perf_counter() - t


def _insert(zlmdb, p, n, kind):
    us, keys, db, pmap, t0 = _prepare(zlmdb, p, n, kind)
    setup = time.perf_counter() - t0
    clock, commit = _timed_writes(db, pmap, us, keys)
    _check_values(zlmdb, db, pmap, kind, us, keys)
    _close(db)
    return {"ops": len(us), "seconds": clock.seconds,
            "extra": {"commit_seconds": commit, "setup_seconds": setup,
                      "notes": _notes(zlmdb) + _fb_notes(kind)}}


def _fb_notes(kind):
    return ["FlatBuffers runtime: %s" % _fb_codec()[3]] if kind == "fb" else []


def _get(zlmdb, p, n, kind):
    us, keys, db, pmap, t0 = _prepare(zlmdb, p, n, kind)
    _populate(db, pmap, us, keys)
    _check_values(zlmdb, db, pmap, kind, us, keys)
    order = datagen.permutation(len(keys), p["seed"] + 2)
    look = [keys[i] for i in order]
    setup = time.perf_counter() - t0
    found = 0
    with db.begin() as txn:
        with Clock() as clock:
            for k in look:
                if pmap[txn, k] is not None:
                    found += 1
    _close(db)
    if found != len(look):
        raise AssertionError("found %d of %d records" % (found, len(look)))
    return {"ops": len(look), "seconds": clock.seconds,
            "extra": {"setup_seconds": setup, "notes": _notes(zlmdb) + _fb_notes(kind)}}


def _attach_indexes(zlmdb, pmap, kind):
    """The two indexes of the indexed workloads: unique by authid, and
    (realm, oid) -> oid.  For declared records ours names the fields (read
    in C); upstream, and the marshal path, give the functions."""
    by_authid = zlmdb.MapStringUuid(2)
    by_realm = zlmdb.MapUuidUuidUuid(3)
    if kind == "rcbor" and _has_records(zlmdb):
        pmap.attach_index("by_authid", by_authid, "authid")
        pmap.attach_index("by_realm", by_realm, ("realm", "oid"), unique=False)
    else:
        pmap.attach_index("by_authid", by_authid, lambda u: u.authid)
        pmap.attach_index("by_realm", by_realm, lambda u: (u.realm, u.oid), unique=False)
    return by_authid, by_realm


def _check_indexes(db, us, by_authid, by_realm, stale=()):
    """Every 97th record's unique entry, no entry left for the authids in
    `stale`, realm 0's records through the composite index, both sizes."""
    realm0 = sorted(u.oid for u in us if u.realm == _REALMS[0])
    with db.begin() as txn:
        for i in range(0, len(us), 97):
            got = by_authid[txn, us[i].authid]
            if got != us[i].oid:
                raise AssertionError("by_authid[%r] is %r, expected %r"
                                     % (us[i].authid, got, us[i].oid))
        for i in range(0, len(stale), 97):
            got = by_authid[txn, stale[i]]
            if got is not None:
                raise AssertionError("by_authid[%r] is %r, expected no entry"
                                     % (stale[i], got))
        got = list(by_realm.select(txn, from_key=(_REALMS[0], uuid.UUID(int=0)),
                                   to_key=(_REALMS[1], uuid.UUID(int=0)), return_keys=False))
        counts = (by_authid.count(txn), by_realm.count(txn))
    if sorted(got) != realm0:
        raise AssertionError("by_realm select of realm 0 gave %d oids, expected %d"
                             % (len(got), len(realm0)))
    if counts != (len(us), len(us)):
        raise AssertionError("index sizes %r, expected %d each" % (counts, len(us)))


def _indexed_insert(zlmdb, p, n, kind="cbor"):
    us, keys, db, pmap, t0 = _prepare(zlmdb, p, n, kind)
    by_authid, by_realm = _attach_indexes(zlmdb, pmap, kind)
    setup = time.perf_counter() - t0
    clock, commit = _timed_writes(db, pmap, us, keys)
    _check_values(zlmdb, db, pmap, kind, us, keys)
    _check_indexes(db, us, by_authid, by_realm)
    _close(db)
    return {"ops": len(us), "seconds": clock.seconds,
            "extra": {"commit_seconds": commit, "setup_seconds": setup,
                      "notes": _notes(zlmdb)}}


def _updated(us):
    """Each user with a new authid, the next realm and one more karma: both
    of its index entries move."""
    out = []
    for u in us:
        r = type(u)()
        for k in User.__slots__:
            setattr(r, k, getattr(u, k))
        r.authid = u.authid + "-u"
        r.realm = _REALMS[(_REALMS.index(u.realm) + 1) % len(_REALMS)]
        r.karma = u.karma + 1
        out.append(r)
    return out


def _indexed_update(zlmdb, p, n, kind="cbor"):
    us, keys, db, pmap, t0 = _prepare(zlmdb, p, n, kind)
    by_authid, by_realm = _attach_indexes(zlmdb, pmap, kind)
    _populate(db, pmap, us, keys)
    new = _updated(us)
    setup = time.perf_counter() - t0
    clock, commit = _timed_writes(db, pmap, new, keys)
    _check_values(zlmdb, db, pmap, kind, new, keys)
    _check_indexes(db, new, by_authid, by_realm, stale=[u.authid for u in us])
    _close(db)
    return {"ops": len(us), "seconds": clock.seconds,
            "extra": {"commit_seconds": commit, "setup_seconds": setup,
                      "notes": _notes(zlmdb)}}


def _index_lookup(zlmdb, p, n, kind="cbor"):
    us, keys, db, pmap, t0 = _prepare(zlmdb, p, n, kind)
    by_authid, by_realm = _attach_indexes(zlmdb, pmap, kind)
    _populate(db, pmap, us, keys)
    _check_indexes(db, us, by_authid, by_realm)
    with db.begin() as txn:
        for i in range(0, len(us), 97):
            got = pmap[txn, by_authid[txn, us[i].authid]]
            if not _same(got, us[i]):
                raise AssertionError("record %d reads back wrong through the index: %r"
                                     % (i, got))
    order = datagen.permutation(len(us), p["seed"] + 2)
    look = [us[i].authid for i in order]
    setup = time.perf_counter() - t0
    found = 0
    with db.begin() as txn:
        with Clock() as clock:
            for a in look:
                oid = by_authid[txn, a]
                if oid is not None and pmap[txn, oid] is not None:
                    found += 1
    _close(db)
    if found != len(look):
        raise AssertionError("found %d of %d records through the index" % (found, len(look)))
    return {"ops": len(look), "seconds": clock.seconds,
            "extra": {"setup_seconds": setup, "notes": _notes(zlmdb)}}


def _populated_cbor(zlmdb, p, n, kind="cbor"):
    us, keys, db, pmap, t0 = _prepare(zlmdb, p, n, kind)
    _populate(db, pmap, us, keys)
    _check_values(zlmdb, db, pmap, kind, us, keys)
    return us, db, pmap, time.perf_counter() - t0


def _select_all(zlmdb, p, n, kind="cbor"):
    us, db, pmap, setup = _populated_cbor(zlmdb, p, n, kind)
    seen = 0
    with db.begin() as txn:
        it = pmap.select(txn, return_keys=False, return_values=True)
        with Clock() as clock:
            for v in it:
                seen += 1
        first = next(iter(pmap.select(txn, return_keys=False, limit=1)))
    _close(db)
    lowest = min(us, key=lambda u: u.oid.bytes)
    if seen != len(us) or not _same(first, lowest):
        raise AssertionError("select saw %d of %d records (first ok: %s)"
                             % (seen, len(us), _same(first, lowest)))
    return {"ops": seen, "seconds": clock.seconds,
            "extra": {"setup_seconds": setup, "notes": _notes(zlmdb)}}


def _count_range(zlmdb, p, n):
    us, db, pmap, setup = _populated_cbor(zlmdb, p, n)
    bounds = [uuid.UUID(int=i << 124) for i in range(16)] + [uuid.UUID(int=(1 << 128) - 1)]
    ranges = list(zip(bounds[:-1], bounds[1:]))
    expect = [sum(1 for u in us if a.int <= u.oid.int < b.int) for a, b in ranges]
    rounds = max(1, int(p["count_rounds"]))
    total = 0
    with db.begin() as txn:
        got = [pmap.count_range(txn, a, b) for a, b in ranges]
        with Clock() as clock:
            for _ in range(rounds):
                for a, b in ranges:
                    total += pmap.count_range(txn, a, b)
    _close(db)
    if got != expect or total != rounds * len(us):
        raise AssertionError("count_range gave %r (total %d), expected %r (total %d)"
                             % (got, total, expect, rounds * len(us)))
    return {"ops": total, "seconds": clock.seconds,
            "extra": {"setup_seconds": setup, "calls": rounds * len(ranges),
                      "notes": _notes(zlmdb)}}


def _truncate(zlmdb, p, n):
    us, db, pmap, setup = _populated_cbor(zlmdb, p, n)
    with db.begin(write=True) as txn:
        with Clock() as clock:
            deleted = pmap.truncate(txn)
        t = time.perf_counter()
    commit = time.perf_counter() - t
    with db.begin() as txn:
        left = pmap.count(txn)
        sample = pmap[txn, us[0].oid]
    _close(db)
    if deleted != len(us) or left != 0 or sample is not None:
        raise AssertionError("truncate returned %r, %d records left" % (deleted, left))
    return {"ops": len(us), "seconds": clock.seconds,
            "extra": {"commit_seconds": commit, "setup_seconds": setup,
                      "notes": _notes(zlmdb)}}


_IMPL = {
    "cbor_insert": lambda z, p, n: _insert(z, p, n, "cbor"),
    "cbor_get": lambda z, p, n: _get(z, p, n, "cbor"),
    "indexed_insert": _indexed_insert,
    "json_insert": lambda z, p, n: _insert(z, p, n, "json"),
    "json_get": lambda z, p, n: _get(z, p, n, "json"),
    "fb_insert": lambda z, p, n: _insert(z, p, n, "fb"),
    "fb_get": lambda z, p, n: _get(z, p, n, "fb"),
    "select_all": _select_all,
    "indexed_update": _indexed_update,
    "index_lookup": _index_lookup,
    "count_range": _count_range,
    "truncate": _truncate,
    "rec_cbor_insert": lambda z, p, n: _insert(z, p, n, "rcbor"),
    "rec_cbor_get": lambda z, p, n: _get(z, p, n, "rcbor"),
    "rec_json_insert": lambda z, p, n: _insert(z, p, n, "rjson"),
    "rec_json_get": lambda z, p, n: _get(z, p, n, "rjson"),
    "rec_indexed_insert": lambda z, p, n: _indexed_insert(z, p, n, "rcbor"),
    "rec_select_all": lambda z, p, n: _select_all(z, p, n, "rcbor"),
    "rec_indexed_update": lambda z, p, n: _indexed_update(z, p, n, "rcbor"),
    "rec_index_lookup": lambda z, p, n: _index_lookup(z, p, n, "rcbor"),
}


def _bind(base, n):
    def run(zlmdb, p):
        return _IMPL[base](zlmdb, p, n)
    run.__name__ = "%s_%d" % (base, n)
    return run


for _tag, _n in SIZES:
    for _base in _IMPL:
        globals()["%s_%s" % (_base, _tag)] = _bind(_base, _n)
