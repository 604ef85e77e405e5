"""Short form of system 5: RSS over repeated use; objects are freed."""
import leak


def test_rss_stays_flat_over_repeated_open_put_get_close(tmp_path):
    out = leak.rss_check(str(tmp_path), iterations=20000)
    assert not out["failures"], "\n".join(out["failures"])


def test_env_txn_cursor_objects_are_freed(tmp_path):
    assert leak.objects_freed(str(tmp_path / "o")) == []
