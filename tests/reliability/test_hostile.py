"""Short form of system 3: hostile call sequences, each run in a child."""
import pytest

import _harness as H
import hostile


def test_state_machine_never_crashes():
    out = hostile.fsm_campaign(seeds=[1, 2], examples=60, steps=40, timeout=300)
    assert not out["failures"], "\n".join(out["failures"])
    assert out["sequences"] >= 100


def test_random_driver_never_crashes():
    out = hostile.random_campaign(seeds=range(1, 7), calls=4000, timeout=300)
    assert not out["failures"], "\n".join(out["failures"][:3])
    assert out["calls"] == 6 * 4000


def test_failed_set_mapsize_does_not_crash_the_next_call():
    # corpus/crash_set_mapsize_failed_remap.py: py-lmdb marks the env invalid
    # when the remap fails; the next call must raise, not segfault.
    for args in ([], ["writemap"]):
        res = H.run_script("corpus/crash_set_mapsize_failed_remap.py", ["zlmdb"] + args,
                           timeout=120)
        assert res.crash is None and res.returncode == 0, res.describe()


def test_copy_with_own_write_txn_is_refused_instead_of_hanging():
    # py-lmdb 3.0.0 (like 2.3.0) hangs here (non-compact copy takes the writer lock).
    res = H.run_script("corpus/hang_copy_with_write_txn_same_thread.py", ["zlmdb"], timeout=8)
    assert not res.timed_out and res.crash is None, res.describe()
    assert res.returncode == 0 and "refused:" in res.stdout and "deadlock" in res.stdout


def test_open_db_with_own_write_txn_is_refused_instead_of_hanging():
    # py-lmdb 3.0.0 (like 2.3.0) hangs here (the temporary write txn waits for our lock).
    res = H.run_script("corpus/hang_open_db_with_write_txn_same_thread.py", ["zlmdb"],
                       timeout=8)
    assert not res.timed_out and res.crash is None, res.describe()
    assert res.returncode == 0 and "refused:" in res.stdout


def test_open_db_vs_writer_thread_does_not_deadlock():
    # py-lmdb 3.0.0 (like 2.3.0) deadlocks here (it waits for the writer with the GIL held).
    res = H.run_script("corpus/hang_open_db_vs_writer_thread.py", ["zlmdb"], timeout=8)
    assert not res.timed_out and res.crash is None, res.describe()
    assert res.returncode == 0 and "done" in res.stdout


def test_set_mapsize_racing_a_blocked_writer_thread_does_not_hang():
    # py-lmdb 2.3.0 hung on this one (3.0.0 no longer does); zlmdb must keep not hanging.
    res = H.run_script("corpus/stress_set_mapsize_vs_writer_thread.py", ["zlmdb", "200"],
                       timeout=120)
    assert res.crash is None and res.returncode == 0, res.describe()


def test_close_with_own_writer_and_a_blocked_writer_thread_completes():
    # py-lmdb 3.0.0 (like 2.3.0) deadlocks here; zlmdb must keep completing.
    res = H.run_script("corpus/stress_close_vs_blocked_writer.py", ["zlmdb"], timeout=60)
    assert res.crash is None and res.returncode == 0 and "done" in res.stdout, res.describe()
