"""Short forms of the ORM reliability systems: kill -9 during indexed writes,
hostile ORM call sequences, allocation faults, map full and disk full."""
import os

import _harness as H
import crash_kill
import orm_crash
import orm_hostile


def _campaign(tmp_path, kills, sync, growth, seed):
    stats = crash_kill.campaign(str(tmp_path), kills=kills, sync=sync, metasync=sync,
                                seed=seed, script="orm_crash.py",
                                flags=[int(sync), int(growth)], strong=sync)
    assert not stats["failures"], "\n".join(stats["failures"])
    assert stats["kills"] == kills and stats["final_marker"] >= 1
    return stats


def test_orm_sigkill_keeps_every_acknowledged_commit_and_its_index_entries(tmp_path):
    stats = _campaign(tmp_path, 12, sync=True, growth=False, seed=21)
    assert stats["lost_commits"] == 0 and stats["acked_total"] > 0


def test_orm_sigkill_while_the_map_grows(tmp_path):
    stats = _campaign(tmp_path, 8, sync=True, growth=True, seed=22)
    assert stats["lost_commits"] == 0


def test_orm_sigkill_nosync_state_is_a_consistent_prefix(tmp_path):
    _campaign(tmp_path, 5, sync=False, growth=False, seed=23)


def _build(tmp_path, m):
    import orm_common as C
    path = str(tmp_path / "forged")
    h = C.open_db(path)
    state = orm_crash.expected_state(m)
    with h.db.begin(write=True) as txn:
        for oid, a in state["accounts"].items():
            h.accounts[txn, oid] = C.Account(*a)
        for n, rec in state["journal"].items():
            h.journal[txn, n] = rec
        h.meta[txn, "marker"] = m
    return h, path


def test_orm_verifier_detects_a_lost_index_entry_and_a_lost_commit(tmp_path):
    h, path = _build(tmp_path, 30)
    with h.db.begin() as txn:
        assert not __import__("orm_common").index_problems(h, txn)
    # remove one index entry below the ORM, as a torn write would
    with h.db.begin(write=True) as txn:
        email = next(e for e, _ in h.by_email.select(txn))
        assert txn.delete(h.by_email.physical_key(email))
    h.db.close()
    res = H.run_script("orm_crash.py", ["verify", path, 1, 0, 30, 1], timeout=120)
    problems = res.json()["problems"]
    assert res.crash is None and any("no by_email entry" in p for p in problems), problems
    res = H.run_script("orm_crash.py", ["verify", path, 1, 0, 31, 1], timeout=120)
    assert any("lost acknowledged" in p for p in res.json()["problems"])


def test_orm_hostile_sequences_keep_indexes_and_the_model(tmp_path):
    out = orm_hostile.campaign(seeds=range(1, 5), steps=1500)
    assert not out["failures"], "\n".join(out["failures"])
    assert out["sequences"] == 4 and out["commits"] > 50 and out["checks"] > 200


def _faults(mode):
    res = H.run_script("orm_faults.py", ["alloc", int(mode == "growth")], timeout=600)
    info = res.json()
    assert res.crash is None and info is not None, res.describe()
    assert not info["problems"], info["problems"]
    assert info["failed_ops"] > 100                        # the faults did land
    assert set(info["exceptions"]) <= {"MemoryError"}       # no SystemError: none lost
    assert max(info["max_k"].values()) < 3000               # every op succeeded again
    # no leak on the error paths: a third sweep allocates nothing more
    assert info["traced"][2] - info["traced"][1] < 2048, info["traced"]
    return info


def test_orm_allocation_faults_write_all_or_nothing():
    info = _faults("direct")
    assert info["refused_commits"] == 0     # the C write path has no half-way state


def test_orm_allocation_faults_in_a_growing_database():
    # The growing database logs its writes, and redoes them, in the same C
    # write path: no half-way state either, and no lost exception (a put
    # refused by the unique index once raised SystemError here).
    info = _faults("growth")
    assert info["refused_commits"] == 0 and info["system_errors"] == []


def _reread(path, count):
    res = H.run_script("orm_faults.py", ["check", path, count], timeout=120)
    assert res.crash is None and res.json() == {"problems": []}, res.describe()


def test_orm_map_full_keeps_every_commit_and_nothing_else(tmp_path):
    for growth in (0, 1):
        path = str(tmp_path / ("mf%d" % growth))
        res = H.run_script("orm_faults.py", ["mapfull", path, growth], timeout=300)
        info = res.json()
        assert res.crash is None and info is not None, res.describe()
        assert not info["problems"], info["problems"]
        assert info["committed"] > 100 and info["swallowed_at"] is not None
        assert any(e.startswith("MapFullError") for e in info["errors"])
        assert any("BadTxnError" in e for e in info["errors"])  # swallowed: no commit
        _reread(path, info["committed"])


def test_orm_disk_full_keeps_every_commit_and_nothing_else(tmp_path):
    path = str(tmp_path / "df")
    res = H.run_script("orm_faults.py", ["diskfull", path], timeout=300)
    info = res.json()
    assert res.crash is None and info is not None, res.describe()
    assert not info["problems"], info["problems"]
    assert info["errors"] and info["committed"] > 200
    assert os.path.getsize(os.path.join(path, "data.mdb")) <= info["limit"]
    _reread(path, info["committed"])
