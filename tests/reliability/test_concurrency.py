"""Short form of system 2: bank invariant, reader-slot reclaim, fork."""
import pytest

import concurrency


def test_bank_invariant_holds_under_concurrent_processes_and_threads(tmp_path):
    out = concurrency.bank(str(tmp_path), seconds=6, writers=2, readers=2, threads=3)
    assert not out["failures"], "\n".join(out["failures"])
    assert len(out["writer_commits"]) == 2 and min(out["writer_commits"]) > 0
    assert out["read_txns"] > 0


def test_stale_reader_slots_are_reclaimed_after_sigkill(tmp_path):
    out = concurrency.readers_reclaim(str(tmp_path), holders=3)
    assert not out["failures"], "\n".join(out["failures"])
    assert out["cleared"] == 3


@pytest.mark.parametrize("variant", ["exit", "drop", "close"])
def test_fork_while_holding_read_and_write_txns(tmp_path, variant):
    out = concurrency.fork_mid_txn(str(tmp_path), variant)
    assert not out["failures"], "\n".join(out["failures"])


def test_bank_checker_detects_a_broken_invariant(tmp_path):
    """The invariant check must be able to fail."""
    import _harness as H
    lmdb = H.import_impl("zlmdb")
    path = str(tmp_path / "b")
    concurrency.init(path, 5)
    env = concurrency.open_env(lmdb, path)
    with env.begin(write=True) as txn:
        txn.put(concurrency.acct(1), concurrency.enc(7))
    with env.begin() as txn:
        assert concurrency.check_txn(txn, 5, 5 * concurrency.START) is not None
    env.close()
