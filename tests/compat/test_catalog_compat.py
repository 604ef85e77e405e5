"""The catalog our ORM keeps in slot 0 (a 3-byte key) is invisible to
upstream zlmdb 26.10.1: upstream reads, writes, attaches and lists such a
database as its own, and ours still opens what upstream then wrote."""
import json
import sys
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import upstream_env  # noqa: E402

import zlmdb  # noqa: E402
from zlmdb.cli import main as cli_main  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from catalog_schema import Upstreams, attach as _attach  # noqa: E402

CATALOG_KEY = b"\x00\x00\x01"


def _slot0(path):
    with zlmdb.Database(path) as db:
        with db.begin() as txn:
            cur = txn.cursor()
            found, out = cur.set_range(b"\x00\x00"), {}
            while found and cur.key()[:2] == b"\x00\x00":
                out[bytes(cur.key())] = bytes(cur.value())
                found = cur.next()
    return out


def test_upstream_uses_a_database_with_a_catalog_and_ours_reads_it_back(tmp_path):
    path = str(tmp_path / "db")
    with zlmdb.Database(path, maxsize=1 << 24) as db:
        users, by_name = _attach(db)
        with db.begin(write=True) as txn:
            for i in (1, 2, 3):
                users[txn, i] = {"oid": i, "name": "user%d" % i}
    catalog_before = _slot0(path)[CATALOG_KEY]

    proc = upstream_env.run_upstream(HERE / "upstream_catalog.py", path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    up = json.loads(proc.stdout)
    assert up["users"] == {str(i): {"oid": i, "name": "user%d" % i} for i in (1, 2, 3)}
    assert up["by_name"] == 2
    # upstream allocates after the highest slot; the catalog takes none
    assert up["slots"] == {"users": 1, "by_name": 2, "upstreams": 3}
    assert up["stats_slots"] == [[1, "Users", 4], [2, "UsersByName", 4], [3, "Upstreams", 1]]
    assert up["info_exit"] == 0 and "num_slots: 3" in up["info"]

    # The catalog is as we left it, and the table upstream added has no
    # entry: the command guesses its layout, and says the check is partial.
    assert _slot0(path)[CATALOG_KEY] == catalog_before
    res = CliRunner().invoke(cli_main, ["tables", path, "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["slot"]: r for r in json.loads(res.output.splitlines()[-1])["tables"]}
    assert rows[1]["layout"]["source"] == "catalog"
    assert rows[3]["layout"]["source"] == "guess"
    res = CliRunner().invoke(cli_main, ["check", path, "--json"])
    report = json.loads(res.output.splitlines()[-1])
    assert report["problem_count"] == 0, report["problems"]
    assert res.exit_code == 4

    # Ours reads what upstream wrote, and attaching records the new table.
    with zlmdb.Database(path) as db:
        users, by_name = _attach(db)
        ups = db.attach_table(Upstreams)
        assert ups._slot == 3
        with db.begin() as txn:
            assert users[txn, 4] == {"oid": 4, "name": "user4"}
            assert by_name[txn, "user4"] == 4
            assert ups[txn, uuid.UUID(int=5)] == "from upstream"
    res = CliRunner().invoke(cli_main, ["tables", path, "--json"])
    rows = {r["slot"]: r for r in json.loads(res.output.splitlines()[-1])["tables"]}
    assert rows[3]["layout"]["source"] == "catalog" and rows[3]["type"] == "MapUuidString"
