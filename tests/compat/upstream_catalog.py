"""Runs in the upstream venv: ``upstream_catalog.py DBDIR`` opens a database
our ORM wrote (it holds a catalog), reads its records, attaches one more
table of its own, writes to it and prints JSON: what it read, its
``stats(include_slots=True)`` slots and the output of its ``zlmdb info``."""
import json
import sys
import uuid

import zlmdb
from click.testing import CliRunner
from zlmdb.cli import main as cli_main

from catalog_schema import Upstreams, attach


def main(path):
    out = {}
    with zlmdb.Database(path, maxsize=1 << 24) as db:
        _use(db, out)
    res = CliRunner().invoke(cli_main, ["info", path])
    out["info_exit"] = res.exit_code
    out["info"] = res.output
    print(json.dumps(out))


def _use(db, out):
    users, by_name = attach(db)
    ups = db.attach_table(Upstreams)
    with db.begin(write=True) as txn:
        out["users"] = {str(k): users[txn, k] for k in (1, 2, 3)}
        out["by_name"] = by_name[txn, "user2"]
        ups[txn, uuid.UUID(int=5)] = "from upstream"
        users[txn, 4] = {"oid": 4, "name": "user4"}
    out["slots"] = {"users": users._slot, "by_name": by_name._slot, "upstreams": ups._slot}
    stats = db.stats(include_slots=True)
    out["stats_slots"] = sorted((s["slot"], s["name"], s["records"]) for s in stats["slots"])


if __name__ == "__main__":
    main(sys.argv[1])
