"""Where an ORM get's time goes: the get workloads of bench/suites/orm.py
taken apart, for whichever zlmdb the interpreter imports (ours, or upstream
in its own virtualenv), on CPython or PyPy.

    python bench/orm_get_parts.py [--kind cbor|json|fb] [--records 100000]

Fills a map as the suite's ``<kind>_get`` workload does, then times, over
the same shuffled keys, each step alone and the whole ``pmap[txn, key]``:
the key's encoding (``pmap._serialize_key``), the raw get of the physical
key, the value's decoding with the user's ``parse`` (``_deserialize_value``),
and the codec's decoding alone.  Best of --repeat rounds after one
unmeasured round (for PyPy's JIT); ns per record.  The steps alone run with
warm caches, so their sum is below the whole get, for both systems alike.
"""
import argparse
import os
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import datagen  # noqa: E402
from suites import orm  # noqa: E402


def _codec_loads(kind):
    """The codec the map's values go through, alone (None for FlatBuffers)."""
    try:
        from zlmdb import codec
        return {"cbor": codec.cbor_loads, "json": codec.json_loads}.get(kind)
    except ImportError:          # upstream: cbor2 and json
        import json

        import cbor2
        return {"cbor": cbor2.loads, "json": json.loads}.get(kind)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kind", choices=("cbor", "json", "fb"), default="cbor")
    ap.add_argument("--records", type=int, default=100000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args(argv)

    import zlmdb
    n = args.records
    params = {"dir": tempfile.mkdtemp(), "seed": args.seed, "records": n}
    us, keys, db, pmap, _t0 = orm._prepare(zlmdb, params, n, args.kind)
    orm._populate(db, pmap, us, keys)
    look = [keys[i] for i in datagen.permutation(n, args.seed + 2)]
    prefix = struct.pack(">H", 1)
    loads = _codec_loads(args.kind)
    print("zlmdb %s from %s, %s, %s_get, %d records"
          % (zlmdb.__version__, os.path.dirname(zlmdb.__file__), sys.version.split()[0],
             args.kind, n))

    def timed(label, loop):
        loop()
        best = min(_seconds(loop) for _ in range(args.repeat))
        print("  %-34s %7.0f ns" % (label, best / n * 1e9))

    with db.begin() as txn:
        physical = [prefix + pmap._serialize_key(k) for k in look]
        raw = [txn.get(k) for k in physical]

        def keys_only():
            for k in look:
                pmap._serialize_key(k)

        def gets_only():
            for k in physical:
                txn.get(k)

        def decode_only():
            for v in raw:
                pmap._deserialize_value(v)

        def codec_only():
            for v in raw:
                loads(v)

        def whole():
            for k in look:
                pmap[txn, k]

        timed("key encoding", keys_only)
        timed("raw get of the physical key", gets_only)
        timed("value decoding with parse", decode_only)
        if loads is not None:
            timed("  of which the codec alone", codec_only)
        timed("pmap[txn, key], the whole get", whole)
    orm._close(db)


def _seconds(loop):
    t = time.perf_counter()
    loop()
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
