"""Short form of the C-API kill -9 system (c_table_crash.c): SIGKILL during
indexed writes through libzlmdb's table engine, on both LMDB engines."""
import json
import subprocess

import pytest

import c_table_crash
import crash_kill

import zlmdb.lmdb as lmdb


@pytest.fixture(scope="module")
def program():
    return c_table_crash.ensure_binary()


def _campaign(tmp_path, kills, sync, libver, seed):
    stats = crash_kill.campaign(str(tmp_path), kills=kills, sync=sync, metasync=sync,
                                seed=seed, script="c_table_crash.py",
                                flags=[int(sync), libver], strong=sync)
    assert not stats["failures"], "\n".join(stats["failures"])
    assert stats["kills"] == kills and stats["final_marker"] >= 1
    return stats


@pytest.mark.parametrize("libver", [9, 10])
def test_c_api_sigkill_keeps_every_acknowledged_commit_and_its_index_entries(
        program, tmp_path, libver):
    stats = _campaign(tmp_path, 10, sync=True, libver=libver, seed=31 + libver)
    assert stats["lost_commits"] == 0 and stats["acked_total"] > 0


def test_c_api_sigkill_nosync_state_is_a_consistent_prefix(program, tmp_path):
    _campaign(tmp_path, 5, sync=False, libver=9, seed=33)


def test_the_c_verifier_finds_orphan_and_missing_index_entries(program, tmp_path):
    # What the campaign relies on: a damaged index is reported, not passed.
    path = str(tmp_path / "env")
    proc = subprocess.Popen([program, "writer", path, "1", "9", "7"], stdout=subprocess.PIPE)
    acked = 0
    for line in proc.stdout:
        if not line.startswith(b"R "):
            acked = int(line)
            if acked >= 50:
                break
    proc.kill()
    proc.wait()

    def verify():
        out = subprocess.run([program, "verify", path, "1", "9", str(acked), "1"],
                             capture_output=True, check=True).stdout
        return json.loads(out)
    assert verify()["problems"] == []
    env = lmdb.open(path, lib_version=0)
    with env.begin(write=True) as txn:
        txn.put(b"\x00\x02orphan@example.org", (1).to_bytes(8, "big"))   # by_email
        cur = txn.cursor()
        assert cur.set_range(b"\x00\x03")                                  # by_handle
        assert txn.delete(cur.key())
    env.close()
    problems = " ".join(verify()["problems"])
    assert "slot 2 holds" in problems and "by_handle entry" in problems
