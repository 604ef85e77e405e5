"""Cursor methods compared with py-lmdb on fixed data sets: every
positioning method, dup navigation, getmulti (all flag combinations),
putmulti, replace/pop/delete, count, iterators, constructor errors."""
import itertools

import pytest

from difftools import assert_same

DUPS = [(b"a", b"1"), (b"b", b"1"), (b"b", b"2"), (b"b", b"3"), (b"c", b"1"),
        (b"d", b"2"), (b"d", b"4")]
FIXED = [(b"a", b"11"), (b"b", b"11"), (b"b", b"22"), (b"b", b"33"), (b"c", b"44"),
         (b"dd", b"55"), (b"dd", b"66")]


def fill(txn, db, pairs):
    for k, v in pairs:
        txn.put(k, v, db=db)


@pytest.mark.parametrize("flags", [{}, {"dupsort": True}, {"dupfixed": True}])
def test_every_move_from_every_position(tmp_path, flags):
    moves = ["first", "last", "next", "prev", "first_dup", "last_dup", "next_dup",
             "prev_dup", "next_nodup", "prev_nodup"]

    def action(mod, env, rec):
        db = env.open_db(b"x", **flags)
        with env.begin(write=True) as txn:
            fill(txn, db, FIXED)
        txn = env.begin(db=db)
        c = txn.cursor()
        for start, move in itertools.product(["first", "last", "b", "dd", None], moves):
            if start is None:
                c.set_key(b"zz")           # unpositioned
            elif len(start) > 2:
                getattr(c, start)()
            else:
                c.set_key(start)
            rec(getattr(c, move))
            rec(c.item)
        txn.abort()
    assert_same(tmp_path, action)


@pytest.mark.parametrize("dupsort", [False, True])
def test_set_methods(tmp_path, dupsort):
    def action(mod, env, rec):
        db = env.open_db(b"x", dupsort=dupsort)
        with env.begin(write=True) as txn:
            fill(txn, db, DUPS)
        txn = env.begin(db=db)
        c = txn.cursor()
        for key in (b"a", b"b", b"bb", b"0", b"e", b"", b"x" * 511, b"x" * 512,
                    bytearray(b"c"), memoryview(b"d")):
            rec(lambda: c.set_key(key))
            rec(c.item)
            rec(lambda: c.set_range(key))
            rec(c.item)
            rec(lambda: c.get(key))
            rec(lambda: c.get(key, b"dflt"))
            rec(c.item)
            for val in (b"1", b"2", b"25", b"9", b""):
                rec(lambda: c.set_key_dup(key, val))
                rec(c.item)
                rec(lambda: c.set_range_dup(key, val))
                rec(c.item)
        for bad in ("s", 1, None):
            rec(lambda: c.set_key(bad))
            rec(lambda: c.set_range(bad))
            rec(lambda: c.get(bad))
            rec(lambda: c.set_key_dup(bad, b"1"))
        rec(lambda: c.set_key(key=b"a"))
        rec(lambda: c.set_key())
        rec(lambda: c.set_key(b"a", b"b"))
        rec(lambda: c.set_range(key=b"a"))
        rec(lambda: c.get(key=b"b", default=1))
        rec(lambda: c.get(b"b", 1, 2))
        rec(lambda: c.set_key_dup(value=b"2", key=b"b"))
        rec(lambda: c.set_range_dup(b"b", value=b"2", key=b"b"))
        txn.abort()
    assert_same(tmp_path, action)


def test_count_and_dup_iterators(tmp_path):
    def action(mod, env, rec):
        db = env.open_db(b"x", dupsort=True)
        plain = env.open_db(b"p")
        with env.begin(write=True) as txn:
            fill(txn, db, DUPS)
            fill(txn, plain, DUPS)
        txn = env.begin(db=db)
        c = txn.cursor()
        for key in (b"a", b"b", b"d"):
            c.set_key(key)
            rec(c.count)
            rec(lambda: list(c.iternext_dup()))
            c.set_key(key)
            rec(lambda: list(c.iternext_dup(keys=True)))
            c.set_key(key)
            c.last_dup()
            rec(lambda: list(c.iterprev_dup()))
            c.set_key(key)
            c.last_dup()
            rec(lambda: list(c.iterprev_dup(True, True)))
        c.set_key(b"zz")
        rec(c.count)
        rec(lambda: list(c.iternext_dup()))
        rec(lambda: list(c.iternext_nodup()))
        rec(lambda: list(c.iterprev_nodup()))
        rec(lambda: list(c.iternext_nodup(values=True)))
        rec(lambda: list(c.iterprev_nodup(keys=False, values=True)))
        c.set_key(b"b")
        rec(lambda: list(c.iternext_nodup()))
        c.set_key(b"b")
        rec(lambda: list(c.iterprev_nodup()))
        c.set_key(b"b")
        rec(lambda: list(c.iternext(values=False)))
        c.set_key(b"c")
        rec(lambda: list(c.iterprev(keys=False)))
        rec(lambda: list(c.iternext(keys=False, values=False)))
        rec(lambda: list(c))
        rec(lambda: list(c.iternext(bogus=1)))
        rec(lambda: list(c.iternext(True, True, True)))
        pc = txn.cursor(plain)
        pc.first()
        rec(pc.count)
        rec(lambda: list(pc.iternext_dup()))
        txn.abort()
    assert_same(tmp_path, action)


def test_iter_from(tmp_path):
    def action(mod, env, rec):
        with env.begin(write=True) as txn:
            fill(txn, None, [(b"b", b"1"), (b"d", b"2"), (b"f", b"3")])
        txn = env.begin()
        c = txn.cursor()
        for key, rev in itertools.product([b"", b"a", b"b", b"c", b"f", b"g"],
                                          [False, True]):
            rec(lambda: list(c._iter_from(key, rev)))
        rec(lambda: list(c._iter_from(b"b")))
        rec(lambda: list(c._iter_from(key=b"b", reverse=True)))
        rec(lambda: list(c._iter_from("b", False)))
        txn.abort()
    assert_same(tmp_path, action)


GETMULTI_FLAGS = list(itertools.product([False, True], [0, 2, 4], [False, True],
                                        [False, True]))


@pytest.mark.parametrize("buffers", [False, True])
def test_getmulti_all_flag_combinations(tmp_path, buffers):
    def action(mod, env, rec):
        fixed = env.open_db(b"f", dupfixed=True)
        dup = env.open_db(b"d", dupsort=True)
        plain = env.open_db(b"p")
        with env.begin(write=True) as txn:
            fill(txn, fixed, FIXED)
            fill(txn, dup, DUPS)
            fill(txn, plain, DUPS)
        txn = env.begin(buffers=buffers)
        keys = [b"b", b"zz", b"a", b"b", b"c"]
        for db in (fixed, dup, plain):
            c = txn.cursor(db)
            for dupdata, dfb, keyfixed, values in GETMULTI_FLAGS:
                rec(lambda: c.getmulti(keys, dupdata, dfb, keyfixed, values))
                rec(c.item)
            rec(lambda: c.getmulti(keys=[b"a"], dupdata=True, dupfixed_bytes=2,
                                   keyfixed=True))
            rec(lambda: c.getmulti([]))
            rec(lambda: c.getmulti(iter([b"a", b"c"])))
            rec(lambda: c.getmulti([b"a", "s"]))
            rec(c.item)
            rec(lambda: c.getmulti([b"a", b""]))
            rec(lambda: c.getmulti([b"a", 5]))
            rec(lambda: c.getmulti(None))
            rec(lambda: c.getmulti())
            rec(lambda: c.getmulti(5))
            rec(lambda: c.getmulti([b"a"], dupfixed_bytes=-1))
            rec(lambda: c.getmulti([bytearray(b"b"), memoryview(b"c")], True))
            rec(lambda: type(c.getmulti([b"b"], True, 2, True)).__name__)
        txn.abort()
    assert_same(tmp_path, action)


def test_getmulti_keyfixed_mixed_key_sizes(tmp_path):
    def action(mod, env, rec):
        fixed = env.open_db(b"f", dupfixed=True)
        with env.begin(write=True) as txn:
            fill(txn, fixed, FIXED)
        txn = env.begin()
        c = txn.cursor(fixed)
        rec(lambda: c.getmulti([b"b", b"dd"], True, 2, False))
        rec(lambda: c.getmulti([b"b", b"c"], True, 2, True).tobytes())
        txn.abort()
    assert_same(tmp_path, action)


@pytest.mark.parametrize("dupsort", [False, True])
def test_putmulti(tmp_path, dupsort):
    def action(mod, env, rec):
        db = env.open_db(b"x", dupsort=dupsort)
        txn = env.begin(write=True, db=db)
        c = txn.cursor()
        rec(lambda: c.putmulti(DUPS))
        rec(lambda: c.putmulti(DUPS))
        rec(lambda: c.putmulti(DUPS, dupdata=False))
        rec(lambda: c.putmulti(DUPS, overwrite=False))
        rec(lambda: c.putmulti([(b"e", b"1"), (b"f", b"1"), (b"a", b"0")], append=True))
        rec(lambda: c.putmulti(iter([(bytearray(b"g"), memoryview(b"1"))])))
        rec(lambda: c.putmulti([(b"%03d" % i, b"v") for i in range(150)]))
        rec(lambda: c.putmulti([(b"h", b"1"), (b"", b"1"), (b"i", b"1")]))
        rec(lambda: c.putmulti([(b"j", "s")]))
        rec(lambda: c.putmulti([(b"k", b"1", b"2")]))
        rec(lambda: c.putmulti(items=[], dupdata=True, overwrite=True, append=False))
        rec(lambda: c.putmulti(None))
        rec(lambda: c.putmulti())
        rec(lambda: c.putmulti(5))
        rec(c.item)
        rec(lambda: list(txn.cursor()))
        txn.abort()
    assert_same(tmp_path, action)


def test_putmulti_batches_of_mixed_types(tmp_path):
    def action(mod, env, rec):
        txn = env.begin(write=True)
        c = txn.cursor()
        items = []
        for i in range(200):
            k = b"%03d" % i
            items.append((bytearray(k), b"v") if i % 7 == 0 else (k, b"v"))
        rec(lambda: c.putmulti(items))
        items = [(b"z%03d" % i, b"v") for i in range(100)] + [(b"", b"e")]
        rec(lambda: c.putmulti(items))
        rec(lambda: txn.stat()["entries"])
        items = [(b"y%03d" % i, b"v") for i in range(100)] + [("s", b"e")]
        rec(lambda: c.putmulti(items))
        rec(lambda: txn.stat()["entries"])
        txn.abort()
    assert_same(tmp_path, action)


def test_put_append_uses_txn_default_db_dupsort_flag(tmp_path):
    def action(mod, env, rec):
        dup = env.open_db(b"d", dupsort=True)
        plain = env.open_db(b"p")
        for default in (None, dup, plain):
            txn = env.begin(write=True, db=default)
            for db in (dup, plain):
                c = txn.cursor(db)
                rec(lambda: c.put(b"m", b"5"))
                rec(lambda: c.put(b"m", b"6", append=True))
                rec(lambda: c.put(b"m", b"4", append=True))
                rec(lambda: c.put(b"n", b"1", append=True))
                rec(lambda: c.put(b"a", b"1", append=True))
                rec(lambda: list(txn.cursor(db)))
            txn.abort()
    assert_same(tmp_path, action)


@pytest.mark.parametrize("dupsort", [False, True])
def test_put_replace_pop_delete(tmp_path, dupsort):
    def action(mod, env, rec):
        db = env.open_db(b"x", dupsort=dupsort)
        txn = env.begin(write=True, db=db)
        fill(txn, db, DUPS)
        c = txn.cursor()
        rec(lambda: c.put(b"b", b"9", dupdata=False))
        rec(lambda: c.put(b"b", b"1", dupdata=False))
        rec(lambda: c.put(b"b", b"9", overwrite=False))
        rec(c.item)
        rec(lambda: c.put(key=b"e", value=b"1"))
        rec(lambda: c.put(b"e", val=b"1"))
        rec(lambda: c.put(b"e"))
        rec(lambda: c.put(b"", b"1"))
        rec(lambda: c.replace(b"b", b"new"))
        rec(c.item)
        rec(lambda: c.replace(b"zz", b"new"))
        rec(c.item)
        rec(lambda: c.replace(b"", b"x"))
        rec(lambda: c.replace(b"q", val=b"x"))
        rec(lambda: c.pop(b"d"))
        rec(c.item)
        rec(lambda: c.pop(b"nope"))
        rec(lambda: c.pop(key=b"a"))
        rec(lambda: c.pop())
        rec(lambda: list(txn.cursor()))
        c.first()
        rec(lambda: c.delete())
        rec(c.item)
        c.last()
        rec(lambda: c.delete())
        rec(c.item)
        rec(lambda: c.delete())
        fill(txn, db, DUPS)
        c.set_key(b"b")
        rec(lambda: c.delete(dupdata=True))
        rec(c.item)
        rec(lambda: c.delete(True, True))
        c.set_key(b"zz")
        rec(lambda: c.delete())
        rec(lambda: list(txn.cursor()))
        txn.abort()
    assert_same(tmp_path, action)


def test_cursor_constructor_and_close(tmp_path):
    def action(mod, env, rec):
        db = env.open_db(b"x")
        txn = env.begin(write=True)
        txn.put(b"a", b"1")
        rec(lambda: mod.Cursor())
        rec(lambda: mod.Cursor(db))
        rec(lambda: mod.Cursor(txn=txn))
        rec(lambda: mod.Cursor(txn, db))
        rec(lambda: mod.Cursor(db, txn, 1))
        rec(lambda: mod.Cursor(db, txn, bogus=1))
        rec(lambda: mod.Cursor(db, txn=txn, db=db))
        rec(lambda: mod.Cursor(None, txn))
        rec(lambda: mod.Cursor(db, txn).first())
        rec(lambda: txn.cursor("db"))
        rec(lambda: txn.cursor(db=None).first())
        rec(lambda: txn.cursor(None, None))
        c = txn.cursor()
        rec(lambda: c.__enter__() is c)
        rec(lambda: c.__exit__(None, None, None))
        rec(c.first)
        rec(c.close)
        rec(c.close)
        rec(c.key)
        rec(lambda: list(c))
        with txn.cursor() as c2:
            rec(c2.first)
        rec(c2.first)
        rec(lambda: c2.__enter__())
        rec(lambda: txn.cursor().set_key(b"a"))
        txn.commit()
        rec(lambda: mod.Cursor(db, txn))
    assert_same(tmp_path, action)


def test_unpositioned_cursor_accessors(tmp_path):
    def action(mod, env, rec):
        for buffers in (False, True):
            txn = env.begin(write=True, buffers=buffers)
            c = txn.cursor()
            rec(c.key)
            rec(c.value)
            rec(c.item)
            rec(c.count)
            rec(lambda: c.delete())
            rec(c.next)
            rec(c.prev)
            rec(lambda: list(c.iternext_dup()))
            txn.put(b"a", b"1")
            rec(c.item)
            rec(c.next)
            rec(c.item)
            rec(c.prev)
            rec(c.item)
            txn.abort()
    assert_same(tmp_path, action)


def test_cursor_in_buffers_txn_big_values(tmp_path):
    def action(mod, env, rec):
        with env.begin(write=True) as txn:
            for i in range(5):
                txn.put(b"k%d" % i, bytes([65 + i]) * (5000 * (i + 1)))
        txn = env.begin(buffers=True)
        c = txn.cursor()
        rec(lambda: [(bytes(k), len(v), type(v).__name__) for k, v in c])
        rec(lambda: c.set_key(b"k3") and len(c.value()))
        rec(lambda: [len(v) for _, v in c.getmulti([b"k1", b"k4"])])
        txn.abort()
    assert_same(tmp_path, action)


def test_exhausted_iterator_stays_exhausted(tmp_path):
    """py-lmdb's _Iterator checks the cursor is positioned before moving:
    once a StopIteration was raised on an unpositioned cursor, later next()
    calls stop too (LMDB itself would restart at the first record)."""
    def action(mod, env, rec):
        txn = env.begin(write=True)
        c = txn.cursor()
        for make in (c.iternext_dup, c.iterprev_dup, c.iternext, c.iterprev):
            it = make()
            rec(lambda: list(it))
            rec(lambda: list(it))
            txn.put(b"a", b"1")
            rec(lambda: list(it))
            c.set_key(b"zz")
            rec(lambda: list(it))
        txn.abort()
    assert_same(tmp_path, action)
