"""Short form of system 1: SIGKILL a committing writer, then verify."""
import crash_kill


def _check(stats, kills):
    assert not stats["failures"], "\n".join(stats["failures"])
    assert stats["kills"] == kills


def test_sigkill_keeps_every_acknowledged_commit(tmp_path):
    stats = crash_kill.campaign(str(tmp_path), kills=20, sync=True, metasync=True, seed=11)
    _check(stats, 20)
    assert stats["lost_commits"] == 0
    assert stats["acked_total"] > 0 and stats["final_marker"] >= 1


def test_sigkill_nosync_state_is_a_consistent_prefix(tmp_path):
    # sync=False/metasync=False only promises "no corruption, a prefix of the
    # commit sequence"; campaign() checks exactly that (strong=False).
    stats = crash_kill.campaign(str(tmp_path), kills=8, sync=False, metasync=False, seed=12)
    _check(stats, 8)
    assert stats["final_marker"] >= 1


def test_verifier_detects_a_partial_transaction(tmp_path):
    """The checker must be able to fail: forge a state in which one record of
    the last transaction is missing."""
    import _harness as H
    lmdb = H.import_impl("zlmdb")
    path = str(tmp_path / "forged")
    env = crash_kill.open_env(lmdb, path, True, True)
    with env.begin(write=True) as txn:
        for k, v in crash_kill.expected_state(30).items():
            txn.put(k, v)
        txn.delete(b"slot/%02d/2" % (30 % crash_kill.SLOTS))
    env.close()
    res = H.run_script("crash_kill.py", ["verify", path, 1, 1, 30, 1], timeout=120)
    assert res.crash is None and res.json()["problems"], res.describe()
    res = H.run_script("crash_kill.py", ["verify", path, 1, 1, 31, 1], timeout=120)
    assert any("lost acknowledged" in p for p in res.json()["problems"])
