"""The codec suite: zlmdb.codec (CBOR and JSON in C) against cbor2, json, orjson, msgspec.

Each public function named like a workload is that workload's Python side:
``fn(module, params) -> {"ops", "seconds", "extra"}``, where ``module`` is the
library under test (``cbor2``, ``msgspec.msgpack``, ``json``, ``orjson``,
``msgspec.json`` or ``zlmdb.codec``).  CBOR workloads run for cbor2,
msgspec-msgpack (MessagePack, CBOR's closest peer: the same documents,
msgpack-encoded by msgspec) and zlmdb.codec; JSON workloads for json, orjson,
msgspec and zlmdb.codec (``Workload.systems``).

Before anything is timed, the child checks its system's output on the whole
workload's data (CBOR bytes == ``cbor2.dumps``; JSON text ==
``json.dumps(obj, separators=(",", ":"), ensure_ascii=False)``; decoded
objects == the source data) and raises on a mismatch, so a fast-but-wrong
codec shows as CRASH, never as a figure.  orjson and msgspec are only held to
"parses back to the same data" (their float text differs from json's, see
``notes`` in the results); msgspec-msgpack to "decodes its own encoding to the
document as MessagePack carries it" (a UUID comes back as its str).  Then
only the call loop is timed, GC off.

zlmdb.codec is under construction: a function it does not have yet makes that
workload n/a (exit 3) with the reason, and ``json_dumpb`` falls back to
``json_dumps`` (noted).  Standard library only at import time.
"""

import base64
import datetime
import functools
import json
import sys
import time
import uuid

import datagen
from harness import EXIT_UNAVAILABLE, Clock, PythonSystem, Suite, Target, Workload

OURS = "zlmdb.codec"
MSGPACK = "msgspec-msgpack"
CBOR_SYSTEMS = ["cbor2", MSGPACK, OURS]
JSON_SYSTEMS = ["json", "orjson", "msgspec", OURS]
SHAPES = [
    ("record", "record",
     "one user's marshal() dict (~20 fields: str, ints of 5 sizes, floats, bool, None, "
     "a list of dicts, a dict, bytes, UUID, 2 aware datetimes); `records` distinct ones"),
    ("small", "small doc",
     "`small` distinct {\"id\": int, \"ok\": bool, \"name\": str} documents"),
    ("large", "large doc",
     "one {\"count\", \"items\"} document holding `large_items` records, `large_reps` calls"),
]

WORKLOADS = []
for _fmt, _systems in (("cbor", CBOR_SYSTEMS), ("json", JSON_SYSTEMS)):
    for _shape, _title, _desc in SHAPES:
        for _op in ("encode", "decode"):
            WORKLOADS.append(Workload(
                "%s_%s_%s" % (_fmt, _op[:3], _shape), "%s %s %s" % (_fmt.upper(), _op, _title),
                "%s %s: %s" % (_fmt.upper(), _op, _desc), systems=_systems))

SYSTEMS = [
    PythonSystem("cbor2", "cbor2", module="cbor2",
                 description="cbor2.dumps / cbor2.loads (its C extension cbor2._cbor2 when "
                             "built; the children report which ran)"),
    PythonSystem(MSGPACK, MSGPACK, module="msgspec.msgpack",
                 description="msgspec.msgpack.encode / msgspec.msgpack.decode (to dicts and "
                             "lists) on the same documents in MessagePack, CBOR's closest "
                             "peer"),
    PythonSystem("json", "json", module="json",
                 description="stdlib json.dumps(obj, separators=(',', ':'), "
                             "ensure_ascii=False) / json.loads"),
    PythonSystem("orjson", "orjson", module="orjson",
                 description="orjson.dumps (bytes) / orjson.loads"),
    PythonSystem("msgspec", "msgspec", module="msgspec.json",
                 description="msgspec.json.encode (bytes) / msgspec.json.decode"),
    PythonSystem(OURS, OURS, module=OURS, python_env="ZLMDB_BENCH_ZLMDB_PYTHON",
                 description="ours: cbor_dumps / cbor_loads, json_dumpb (json_dumps when "
                             "json_dumpb is missing, or with --param json_api=str) / "
                             "json_loads"),
]

TARGETS = []
for _w in WORKLOADS:
    if _w.name.startswith("cbor_"):
        TARGETS.append(Target(_w.name, "cbor2", 2.0, ">=2x cbor2"))
        if "_dec_" in _w.name:
            # within 1.1x of msgspec's MessagePack decoder
            TARGETS.append(Target(_w.name, MSGPACK, 1 / 1.1, ">=1/1.1x msgspec-msgpack"))
    else:
        TARGETS.append(Target(_w.name, "json", 3.0, ">=3x json"))
        _orjson = 1.0 if _w.name in ("json_dec_record", "json_dec_large",
                                     "json_enc_large") else 0.8
        TARGETS.append(Target(_w.name, "orjson", _orjson, ">=%.1fx orjson" % _orjson))

SUITE = Suite(
    name="codec",
    title="Codecs: zlmdb.codec vs cbor2, msgspec-msgpack, json, orjson, msgspec",
    systems=SYSTEMS,
    workloads=WORKLOADS,
    ours=OURS,
    modes={
        # ops per run: records*rounds, small*rounds, large_reps
        "full": {"records": 20000, "small": 100000, "rounds": 5, "large_items": 1000,
                 "large_reps": 50, "repeat": 3, "seed": 42, "json_input": "bytes",
                 "json_api": "auto", "json_baseline": "dumps"},
        "quick": {"records": 1000, "small": 10000, "rounds": 1, "large_items": 100,
                  "large_reps": 20, "repeat": 1, "seed": 42, "json_input": "bytes",
                  "json_api": "auto", "json_baseline": "dumps"},
    },
    targets=TARGETS,
    settings={
        "data": "bench/suites/codec.py, from the splitmix64 stream of `seed` (bench/datagen.py): "
                "the same objects for every system; JSON gets stand-ins for the non-JSON "
                "types (bytes -> base64 str, UUID -> str, datetime -> isoformat())",
        "calls": "CBOR: cbor2.dumps/loads vs zlmdb.codec.cbor_dumps/cbor_loads; "
                 "msgspec.msgpack.encode/decode on the same documents as MessagePack "
                 "(decode input: msgspec.msgpack.encode(doc)). JSON encode: "
                 "json.dumps(obj, separators=(',', ':'), ensure_ascii=False) (str; with "
                 "json_baseline=encoder one prebuilt JSONEncoder's .encode), "
                 "orjson.dumps (bytes), msgspec.json.encode (bytes), zlmdb.codec.json_dumpb "
                 "(bytes; json_dumps if missing or json_api=str). JSON decode: every system "
                 "parses the same json.dumps text, as UTF-8 bytes (json_input=bytes, what "
                 "LMDB returns) or as str (json_input=str)",
        "ops": "one op = one encode or decode call: records*rounds record docs, small*rounds "
               "small docs, large_reps large docs (the same objects again each round)",
        "timing": "only the call loop (perf_counter), cyclic GC off; data generation and the "
                  "correctness check before the loop are not timed",
        "check": "before timing: CBOR bytes == cbor2.dumps, JSON text == json.dumps (orjson, "
                 "msgspec: parses back equal), decoded objects == source data; a mismatch "
                 "fails the run (CRASH) instead of timing it",
    },
)


# ---------------------------------------------------------------- data

class _Rng:
    """Deterministic numbers from datagen's splitmix64 stream (not `random`,
    so every Python version draws the same data)."""

    def __init__(self, seed):
        self._s = datagen.stream(seed)

    def u64(self):
        return next(self._s)

    def below(self, n):
        return self.u64() % n

    def unit(self):
        return (self.u64() >> 11) / float(1 << 53)

    def choice(self, seq):
        return seq[self.below(len(seq))]

    def word(self, lo, hi):
        return "".join(self.choice(_LETTERS) for _ in range(lo + self.below(hi - lo + 1)))


_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_FIRST = ["Alice", "Bob", "Chloé", "Dmitri", "Eva", "François", "Günther", "Hana", "Ibrahim",
          "Jürgen", "Kenji", "Léa", "Mateo", "Nuño", "Olga", "Priya", "Zoë", "Søren"]
_TEXT = ["Hello, world", "Grüße aus Köln", "naïve café", "日本語のテキスト", "Ελληνικά",
         "emoji 🙂 ok", "tab\tand \"quotes\" and \\ backslash", "plain ascii text",
         "línea con ñ", "Привет"]
_ROLES = ["admin", "editor", "viewer", "owner", "guest", "auditor"]
_EPOCH = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
_CEST = datetime.timezone(datetime.timedelta(hours=2))


class User:
    """A typical zlmdb-style object; the benchmark encodes its marshal() dict."""

    def __init__(self, rng, i):
        self.oid = uuid.UUID(int=rng.u64() << 64 | rng.u64())
        self.seq = i
        self.name = rng.choice(_FIRST)
        self.authid = "user-%s-%d" % (rng.word(4, 8), i)
        self.email = "%s.%s@example.%s" % (rng.word(3, 8), rng.word(3, 10),
                                           rng.choice(["com", "org", "net", "de"]))
        self.bio = rng.choice(_TEXT) + " " + rng.word(0, 30)
        self.active = rng.below(2) == 1
        self.deleted = None
        self.age = rng.below(100)                              # 1 byte
        self.karma = rng.below(60000)                          # 2 bytes
        self.posts = -rng.below(1 << 31)                       # negative, 4 bytes
        self.bytes_used = rng.below(1 << 40)                   # 8 bytes (40 bits)
        self.token = rng.u64()                                 # full 64 bits unsigned
        self.balance = round(rng.unit() * 1e6, 2)
        self.score = rng.unit()
        self.tiny = rng.unit() * 1e-7                          # exponent notation
        self.created = _EPOCH + datetime.timedelta(microseconds=rng.below(10**14))
        self.last_login = (_EPOCH + datetime.timedelta(seconds=rng.below(10**8))
                           ).astimezone(_CEST)
        self.pubkey = rng.u64().to_bytes(8, "big") * 4         # 32 bytes
        self.tags = [rng.word(3, 9) for _ in range(rng.below(5))]
        self.roles = [{"role": rng.choice(_ROLES), "level": rng.below(10),
                       "granted": rng.below(2) == 1, "realm": "realm-%d" % rng.below(100)}
                      for _ in range(1 + rng.below(4))]
        self.settings = {"theme": rng.choice(["dark", "light"]), "lang": rng.choice(
            ["en", "de", "fr", "ja"]), "notify": rng.below(2) == 1, "limit": rng.below(1000)}

    def marshal(self):
        return {
            "oid": self.oid, "seq": self.seq, "name": self.name, "authid": self.authid,
            "email": self.email, "bio": self.bio, "active": self.active,
            "deleted": self.deleted, "age": self.age, "karma": self.karma,
            "posts": self.posts, "bytes_used": self.bytes_used, "token": self.token,
            "balance": self.balance, "score": self.score, "tiny": self.tiny,
            "created": self.created, "last_login": self.last_login, "pubkey": self.pubkey,
            "tags": self.tags, "roles": self.roles, "settings": self.settings,
        }


def _jsonable(obj):
    """The JSON stand-in of a CBOR-side object."""
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, bytes):
        return base64.b64encode(obj).decode("ascii")
    if isinstance(obj, uuid.UUID):
        return str(obj)
    if isinstance(obj, datetime.datetime):
        return obj.isoformat()
    return obj


def records(n, seed):
    rng = _Rng(seed)
    return [User(rng, i).marshal() for i in range(n)]


def small_docs(n, seed):
    rng = _Rng(seed + 1)
    return [{"id": i, "ok": rng.below(2) == 1, "name": rng.word(1, 8)} for i in range(n)]


def large_doc(n, seed):
    return {"count": n, "items": records(n, seed + 2)}


def _docs(shape, p, fmt):
    """(distinct source documents, how many times the loop walks them)."""
    if shape == "record":
        docs, rounds = records(p["records"], p["seed"]), p["rounds"]
    elif shape == "small":
        docs, rounds = small_docs(p["small"], p["seed"]), p["rounds"]
    else:
        docs, rounds = [large_doc(p["large_items"], p["seed"])], p["large_reps"]
    if fmt == "json":
        docs = [_jsonable(d) for d in docs]
    return docs, max(1, rounds)


# ---------------------------------------------------------------- systems' calls

def _unavailable(reason):
    """n/a for this pair, by the child protocol (exit 3, {"unavailable": ...})."""
    sys.stdout.flush()
    print(json.dumps({"unavailable": reason}))
    sys.stdout.flush()
    raise SystemExit(EXIT_UNAVAILABLE)


def _need(mod, name):
    fn = getattr(mod, name, None)
    if not callable(fn):
        _unavailable("%s has no %s() yet" % (mod.__name__, name))
    return fn


# json.dumps with non-default arguments builds a JSONEncoder per call, as real callers pay;
# --param json_baseline=encoder times one prebuilt encoder's .encode instead (faster).
_json_ref = functools.partial(json.dumps, separators=(",", ":"), ensure_ascii=False)
_json_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_JSON_CALLS = {
    "dumps": "json.dumps(obj, separators=(',', ':'), ensure_ascii=False)",
    "encoder": "json.JSONEncoder(separators=(',', ':'), ensure_ascii=False).encode(obj), "
               "one prebuilt encoder",
}


def _cbor2_info():
    """Which cbor2 implementation is in use: the C extension or pure Python."""
    try:
        import cbor2
    except ImportError:
        return None, "cbor2 not importable"
    impl = getattr(cbor2.dumps, "__module__", "?")
    c_ext = impl == "cbor2._cbor2" or type(cbor2.dumps).__name__ == "builtin_function_or_method"
    try:
        from importlib.metadata import version
        ver = version("cbor2")
    except Exception:
        ver = getattr(cbor2, "__version__", "?")
    return cbor2, "cbor2 %s: cbor2.dumps is %s.dumps (%s)" % (
        ver, impl,
        "C extension" if c_ext else "PURE PYTHON, not C-accelerated")


def _version(mod):
    """The library's version, for the notes."""
    name = mod.__name__
    if name == "json":
        return "stdlib json (Python %s)" % sys.version.split()[0]
    dist = name.split(".")[0]
    try:
        from importlib.metadata import version
        return "%s %s" % (dist, version(dist))
    except Exception:
        return "%s %s" % (dist, getattr(sys.modules.get(dist), "__version__", "(version unknown)"))


def _check_params(p):
    for key, allowed in (("json_input", ("bytes", "str")), ("json_api", ("auto", "str")),
                         ("json_baseline", tuple(_JSON_CALLS))):
        if p.get(key) not in allowed:
            raise ValueError("--param %s=%s: must be one of %s" % (key, p.get(key),
                                                                 ", ".join(allowed)))


def _call(mod, fmt, op, p, notes):
    """The callable of ``mod`` that does ``op`` ("encode"/"decode") in ``fmt``, or n/a."""
    _check_params(p)
    name = mod.__name__
    enc = op == "encode"
    if fmt == "cbor":
        if name == "cbor2":
            notes.append(_cbor2_info()[1])
            return mod.dumps if enc else mod.loads
        if name == "msgspec.msgpack":
            return mod.encode if enc else mod.decode
        if name == OURS:
            return _need(mod, "cbor_dumps" if enc else "cbor_loads")
    else:
        if name == "json":
            if not enc:
                return mod.loads
            notes.append("JSON encode timed with " + _JSON_CALLS[p["json_baseline"]])
            return _json_ref if p["json_baseline"] == "dumps" else _json_encoder
        if name == "orjson":
            return mod.dumps if enc else mod.loads
        if name == "msgspec.json":
            return mod.encode if enc else mod.decode
        if name == OURS:
            if not enc:
                return _need(mod, "json_loads")
            dumpb = getattr(mod, "json_dumpb", None)
            if p["json_api"] == "str":
                notes.append("JSON encode timed with json_dumps() (json_api=str)")
            elif callable(dumpb):
                notes.append("JSON encode timed with json_dumpb() (bytes, like orjson)")
                return dumpb
            else:
                notes.append("no json_dumpb() yet: JSON encode timed with json_dumps() (str)")
            return _need(mod, "json_dumps")
    _unavailable("%s does not do %s" % (name, fmt.upper()))


# ---------------------------------------------------------------- correctness

def _first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def _check_encode(mod, fmt, enc, docs, notes, shape=""):
    """Every document's encoding against the reference, before timing."""
    name = mod.__name__
    if fmt == "cbor" and name == "msgspec.msgpack":
        # Another format: held to decoding its own bytes back to the data.
        for i, d in enumerate(docs):
            if mod.decode(enc(d)) != _msgpack_view(d):
                raise AssertionError("MISMATCH: %s round trip of doc %d differs" % (name, i))
        notes.append("MessagePack, not CBOR: checked round trips (UUIDs come back as str)")
        return
    if fmt == "cbor":
        cbor2 = _cbor2_info()[0]
        if cbor2 is None:
            dec = getattr(mod, "cbor_loads", None)
            if name != "cbor2" and not callable(dec):
                notes.append("cbor2 missing in this interpreter and no cbor_loads(): "
                              "CBOR encode NOT checked")
            elif name != "cbor2":
                for i, d in enumerate(docs):
                    if dec(enc(d)) != d:
                        raise AssertionError("MISMATCH: %s CBOR round trip of doc %d differs"
                                             % (name, i))
                notes.append("cbor2 missing in this interpreter: checked round trips only")
            return
        for i, d in enumerate(docs):
            got, want = enc(d), cbor2.dumps(d)
            if got != want:
                at = _first_diff(got, want)
                raise AssertionError(
                    "MISMATCH: %s CBOR of doc %d differs from cbor2.dumps at byte %d of %d/%d: "
                    "%r vs %r" % (name, i, at, len(got), len(want), got[at:at + 16],
                                  want[at:at + 16]))
        return
    differ, first = 0, None
    for i, d in enumerate(docs):
        got, want = enc(d), _json_ref(d)
        try:
            text = got.decode("utf-8") if isinstance(got, (bytes, bytearray)) else got
        except UnicodeDecodeError as exc:
            raise AssertionError("MISMATCH: %s JSON of doc %d is not UTF-8: %s" % (name, i, exc))
        if text == want:
            continue
        at = _first_diff(text, want)
        if name in ("orjson", "msgspec.json"):
            # Not held to json's exact text (float formatting differs), only to its data.
            if json.loads(text) != d:
                raise AssertionError("MISMATCH: %s JSON of doc %d parses back to other data"
                                     % (name, i))
            differ += 1
            if first is None:
                first = (text[max(0, at - 12):at + 8], want[max(0, at - 12):at + 8])
            continue
        raise AssertionError(
            "MISMATCH: %s JSON of doc %d differs from json.dumps at char %d of %d/%d: %r vs %r"
            % (name, i, at, len(text), len(want), text[at:at + 24], want[at:at + 24]))
    if differ:
        notes.append("output not byte-identical to json.dumps's in %d of %d %s docs (parses "
                     "back equal); first difference: %r vs json's %r"
                     % (differ, len(docs), shape, first[0], first[1]))


def _decode_inputs(fmt, docs, p, mod, notes):
    """The same reference encoding for every system: cbor2.dumps / json.dumps text."""
    if fmt == "cbor" and mod.__name__ == "msgspec.msgpack":
        return [mod.encode(d) for d in docs]
    if fmt == "cbor":
        cbor2 = _cbor2_info()[0]
        if cbor2 is not None:
            return [cbor2.dumps(d) for d in docs]
        notes.append("cbor2 missing in this interpreter: decoded its own encoding")
        return [_need(mod, "cbor_dumps")(d) for d in docs]
    texts = [_json_ref(d) for d in docs]
    if p["json_input"] == "str":
        return texts
    return [t.encode("utf-8") for t in texts]


def _msgpack_view(obj):
    """A document as MessagePack carries it through msgspec: UUIDs as str
    (datetimes stay datetimes, as the timestamp extension)."""
    if isinstance(obj, dict):
        return {k: _msgpack_view(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_msgpack_view(v) for v in obj]
    if isinstance(obj, uuid.UUID):
        return str(obj)
    return obj


def _check_decode(mod, dec, inputs, docs):
    if mod.__name__ == "msgspec.msgpack":
        docs = [_msgpack_view(d) for d in docs]
    for i, (b, d) in enumerate(zip(inputs, docs)):
        got = dec(b)
        if got != d:
            raise AssertionError("MISMATCH: %s decodes doc %d to other data" % (mod.__name__, i))


# ---------------------------------------------------------------- timing

def _time_loop(fn, items, rounds):
    with Clock() as clock:
        for _ in range(rounds):
            for x in items:
                fn(x)
    return clock.seconds


def _run(mod, p, fmt, op, shape):
    notes = []
    t0 = time.perf_counter()
    fn = _call(mod, fmt, op, p, notes)
    if mod.__name__ != "cbor2":  # its note names the version already
        notes.insert(0, _version(mod))
    docs, rounds = _docs(shape, p, fmt)
    if op == "encode":
        _check_encode(mod, fmt, fn, docs, notes, shape)
        items = docs
        size = sum(len(fn(d)) for d in docs)
    else:
        items = _decode_inputs(fmt, docs, p, mod, notes)
        _check_decode(mod, fn, items, docs)
        size = sum(len(x) for x in items)
    setup = time.perf_counter() - t0
    seconds = _time_loop(fn, items, rounds)
    ops = len(items) * rounds
    return {"ops": ops, "seconds": seconds,
            "extra": {"setup_seconds": setup, "docs": len(items), "rounds": rounds,
                      "encoded_bytes_per_doc": size / float(len(items)),
                      "mb_per_sec": size * rounds / seconds / 1e6 if seconds > 0 else 0.0,
                      "call": (_JSON_CALLS["dumps"] if fn is _json_ref
                               else _JSON_CALLS["encoder"] if fn is _json_encoder
                               else "%s.%s" % (mod.__name__, getattr(fn, "__name__", "?"))),
                      "notes": notes}}


def _make(fmt, op, shape):
    def workload(mod, p):
        return _run(mod, p, fmt, op, shape)

    workload.__name__ = "%s_%s_%s" % (fmt, op[:3], shape)
    workload.__doc__ = "%s %s of %s documents (see SHAPES)" % (fmt.upper(), op, shape)
    return workload


for _w in WORKLOADS:
    _fmt, _op, _shape = _w.name.split("_")
    globals()[_w.name] = _make(_fmt, {"enc": "encode", "dec": "decode"}[_op], _shape)
