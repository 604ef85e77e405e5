"""Cursor essentials exercised by the foundation slice (the full Cursor
behaviour is covered by the differential tests)."""
import zlmdb.lmdb as zl


def fill(env, n=10):
    with env.begin(write=True) as txn:
        for i in range(n):
            txn.put(b"k%02d" % i, b"v%02d" % i)


def test_iteration_in_key_order(env):
    fill(env)
    with env.begin() as txn:
        items = list(txn.cursor())
    assert items == [(b"k%02d" % i, b"v%02d" % i) for i in range(10)]


def test_reverse_and_range(env):
    fill(env)
    with env.begin() as txn:
        c = txn.cursor()
        assert [k for k, _ in c.iterprev()] == [b"k%02d" % i for i in reversed(range(10))]
        assert c.set_range(b"k05") and c.key() == b"k05"
        assert c.set_range(b"k055") and c.key() == b"k06"
        assert not c.set_range(b"z")
        assert c.key() == b"" and c.item() == (b"", b"")


def test_cursor_invalid_after_commit(env):
    fill(env)
    txn = env.begin()
    c = txn.cursor()
    assert c.first()
    it = iter(c)
    txn.commit()
    for op in (c.first, c.key, lambda: next(it)):
        try:
            op()
        except zl.Error as exc:
            assert "closed/deleted/dropped" in str(exc)
        else:
            raise AssertionError("no error")
