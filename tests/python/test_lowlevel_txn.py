"""Transaction and _Database behaviour compared with py-lmdb: nested
transactions, buffers, flags of put/delete, drop, stat, the Transaction
constructor and _Database.flags()."""
import struct

import pytest

import zlmdb.lmdb as zl
from difftools import assert_same


def test_nested_child_abort_rolls_back_only_child(tmp_path):
    def action(mod, env, rec):
        parent = env.begin(write=True)
        parent.put(b"p", b"1")
        child = env.begin(write=True, parent=parent)
        rec(lambda: child.get(b"p"))
        child.put(b"c", b"2")
        child.delete(b"p")
        rec(lambda: child.id() == parent.id())
        rec(child.abort)
        rec(lambda: parent.get(b"c"))
        rec(lambda: parent.get(b"p"))
        child2 = mod.Transaction(env, None, parent, True)
        child2.put(b"c2", b"3")
        rec(child2.commit)
        rec(lambda: parent.get(b"c2"))
        rec(lambda: child2.get(b"c2"))
        middle = env.begin(write=True, parent=parent)
        grand = env.begin(write=True, parent=middle)
        rec(lambda: grand.put(b"g", b"4"))
        rec(grand.commit)
        rec(middle.commit)
        rec(parent.commit)
        with env.begin() as txn:
            rec(lambda: list(txn.cursor()))
    assert_same(tmp_path, action)


def test_parent_is_blocked_while_child_is_active(tmp_path):
    def action(mod, env, rec):
        parent = env.begin(write=True)
        child = env.begin(write=True, parent=parent)
        rec(lambda: parent.put(b"a", b"1"))
        rec(lambda: parent.get(b"a"))
        rec(lambda: parent.cursor())
        rec(lambda: env.begin(write=True, parent=parent))
        rec(child.commit)
        rec(lambda: parent.put(b"a", b"1"))
        rec(parent.commit)
    assert_same(tmp_path, action)


def test_nesting_errors(tmp_path):
    def action(mod, env, rec):
        rd = env.begin()
        rec(lambda: env.begin(write=True, parent=rd))
        rec(lambda: env.begin(parent=rd))
        w = env.begin(write=True)
        rec(lambda: env.begin(parent=w))              # read child of write parent
        rec(lambda: env.begin(parent="txn"))
        rec(lambda: env.begin(write=True, parent=w, db=env.open_db(None, txn=w)))
        w.abort()
        rec(lambda: env.begin(write=True, parent=w))  # finished parent
    assert_same(tmp_path, action)


def test_nesting_with_writemap(tmp_path):
    def action(mod, env, rec):
        w = env.begin(write=True)
        rec(lambda: env.begin(write=True, parent=w))
        rec(lambda: w.put(b"a", b"b"))
        rec(w.commit)
    assert_same(tmp_path, action, {"writemap": True})


def test_transaction_constructor(tmp_path):
    def action(mod, env, rec):
        rec(lambda: mod.Transaction(env).id())
        rec(lambda: mod.Transaction(env, None, None, False, True).get(b"x"))
        rec(lambda: mod.Transaction(env=env, write=True).abort())
        rec(lambda: mod.Transaction(env, env))
        rec(lambda: mod.Transaction(env, None, None, False, False, 1))
        rec(lambda: mod.Transaction(env, env=env))
        rec(lambda: mod.Transaction("env"))
        rec(lambda: mod.Transaction(env, bogus=1))
        rec(lambda: env.begin(None, None, None, None).id())
        rec(lambda: env.begin(bogus=1))
        rec(lambda: env.begin(None, None, None, None, None))
    assert_same(tmp_path, action)


def test_buffers_get_pop_replace_types(tmp_path):
    def action(mod, env, rec):
        with env.begin(write=True) as txn:
            txn.put(b"a", b"1")
            txn.put(b"b", b"2")
        txn = env.begin(write=True, buffers=True)
        rec(lambda: txn.get(b"a"))
        rec(lambda: txn.get(b"zz", b"dflt"))
        rec(lambda: txn.replace(b"a", b"9"))
        rec(lambda: txn.replace(b"new", b"9"))
        rec(lambda: txn.pop(b"b"))
        rec(lambda: txn.pop(b"b"))
        rec(lambda: txn.get(b"a").readonly)
        rec(lambda: txn.cursor().first())
        c = txn.cursor()
        c.first()
        rec(c.key)
        rec(c.value)
        rec(c.item)
        rec(lambda: c.get(b"new"))
        rec(lambda: c.getmulti([b"a", b"new"]))
        rec(lambda: list(c.iternext()))
        rec(lambda: list(c.iterprev(values=False)))
        rec(lambda: list(c.iternext(keys=False)))
        rec(lambda: c.pop(b"a"))
        rec(lambda: c.replace(b"new", b"x"))
        rec(lambda: env.dbs())
        txn.abort()
    assert_same(tmp_path, action)


def test_put_flags_on_dupsort(tmp_path):
    def action(mod, env, rec):
        db = env.open_db(b"d", dupsort=True)
        txn = env.begin(write=True, db=db)
        rec(lambda: txn.put(b"k", b"2"))
        rec(lambda: txn.put(b"k", b"1"))
        rec(lambda: txn.put(b"k", b"1"))                    # the pair exists
        rec(lambda: txn.put(b"k", b"1", dupdata=False))
        rec(lambda: txn.put(b"k", b"3", dupdata=False))
        rec(lambda: txn.put(b"k", b"4", overwrite=False))
        rec(lambda: txn.put(b"z", b"0", append=True))
        rec(lambda: txn.put(b"z", b"1", append=True))       # MDB_APPEND, not APPENDDUP
        rec(lambda: txn.put(b"a", b"1", append=True))
        rec(lambda: txn.put(b"k", b"x" * 512))
        rec(lambda: list(txn.cursor()))
        rec(lambda: txn.delete(b"k", b"2"))
        rec(lambda: txn.delete(b"k", b"nope"))
        rec(lambda: list(txn.cursor()))
        rec(lambda: txn.delete(b"k", None))
        rec(lambda: txn.delete(b"z", b""))
        rec(lambda: list(txn.cursor()))
        rec(lambda: txn.replace(b"m", b"1"))
        rec(lambda: txn.put(b"m", b"2"))
        rec(lambda: txn.replace(b"m", b"3"))
        rec(lambda: txn.pop(b"m"))
        rec(lambda: list(txn.cursor()))
        rec(lambda: txn.stat())
        rec(lambda: txn.stat(env.open_db(None)))
        txn.abort()
    assert_same(tmp_path, action)


def test_integer_and_reverse_key_ordering(tmp_path):
    def action(mod, env, rec):
        ik = env.open_db(b"ik", integerkey=True)
        idup = env.open_db(b"idup", integerdup=True)
        rk = env.open_db(b"rk", reverse_key=True)
        with env.begin(write=True) as txn:
            for n in (3, 1, 256, 2, 70000):
                txn.put(struct.pack("I", n), b"v", db=ik)
                txn.put(b"k", struct.pack("I", n), db=idup)
            for k in (b"ab", b"ba", b"a", b"ca"):
                txn.put(k, b"v", db=rk)
        with env.begin() as txn:
            rec(lambda: [struct.unpack("I", k)[0] for k in txn.cursor(ik).iternext(values=False)])
            rec(lambda: list(txn.cursor(idup).iternext_dup()))
            c = txn.cursor(idup)
            rec(lambda: c.set_key(b"k") and c.count())
            rec(lambda: list(txn.cursor(rk).iternext(values=False)))
            rec(lambda: [ik.flags(), idup.flags(), rk.flags()])
    assert_same(tmp_path, action)


def test_drop(tmp_path):
    def action(mod, env, rec):
        db = env.open_db(b"sub", dupsort=True)
        keep = env.open_db(b"keep")
        with env.begin(write=True) as txn:
            for i in range(5):
                txn.put(b"k", b"%d" % i, db=db)
                txn.put(b"k%d" % i, b"v", db=keep)
                txn.put(b"m%d" % i, b"v")
        txn = env.begin(write=True)
        rec(lambda: txn.drop(keep, delete=False))
        rec(lambda: txn.stat(keep)["entries"])
        rec(lambda: txn.drop(db))
        rec(lambda: txn.get(b"k", db=db))
        rec(lambda: txn.put(b"k", b"1", db=db))
        rec(lambda: txn.cursor(db))
        rec(lambda: txn.drop())
        rec(lambda: txn.drop(None))
        rec(lambda: txn.drop("db"))
        rec(lambda: txn.drop(delete=False))
        rec(txn.commit)
        rec(env.dbs)
        rec(lambda: env.begin().get(b"k", db=db))
        rec(lambda: env.open_db(b"sub", create=False))
        rec(lambda: env.open_db(b"sub").flags())
        with env.begin(write=True) as txn:
            rec(lambda: txn.drop(env.open_db(None)))
        rec(lambda: env.stat()["entries"])
    assert_same(tmp_path, action, {"max_dbs": 4})


def test_txn_id_and_stat(tmp_path):
    def action(mod, env, rec):
        rec(lambda: env.begin().id())
        w = env.begin(write=True)
        rec(w.id)
        w.put(b"a", b"b")
        rec(lambda: w.stat())
        rec(lambda: w.stat(db=None))
        rec(lambda: w.stat("x"))
        rec(w.commit)
        rec(lambda: env.begin().id())
        rec(lambda: env.begin(write=True).id())
        rec(lambda: env.info()["last_txnid"])
    assert_same(tmp_path, action)


def test_read_txn_commit_abort_and_reuse(tmp_path):
    def action(mod, env, rec):
        t = env.begin()
        rec(t.commit)
        rec(t.commit)
        rec(t.abort)
        rec(lambda: t.get(b"a"))
        t = env.begin()
        rec(t.abort)
        rec(t.abort)
        rec(t.commit)
        rec(lambda: t.__enter__())
        with env.begin() as t:
            rec(lambda: t.get(b"a"))
        rec(lambda: t.get(b"a"))
        t = env.begin()
        rec(lambda: t.__exit__(None, None, None))
        rec(lambda: t.__exit__(None, None, None))
        w = env.begin(write=True)
        w.put(b"x", b"1")
        rec(lambda: w.__exit__(KeyError, KeyError(), None))
        rec(lambda: env.begin().get(b"x"))
        w = env.begin(write=True)
        rec(lambda: w.__exit__())
        rec(lambda: w.__exit__(None, None, None, None))
    assert_same(tmp_path, action)


def test_readonly_txn_writes(tmp_path):
    def action(mod, env, rec):
        t = env.begin()
        rec(lambda: t.put(b"a", b"b"))
        rec(lambda: t.delete(b"a"))
        rec(lambda: t.replace(b"a", b"b"))
        rec(lambda: t.pop(b"a"))
        rec(lambda: t.drop(env.open_db(None)))
        c = t.cursor()
        rec(lambda: c.put(b"a", b"b"))
        rec(lambda: c.putmulti([(b"a", b"b")]))
        rec(lambda: c.delete())
        rec(lambda: t.get(b"a"))
    assert_same(tmp_path, action)


def test_database_flags_argument_handling(tmp_path):
    def action(mod, env, rec):
        db = env.open_db(b"d", dupfixed=True)
        rec(db.flags)
        rec(lambda: db.flags(None))
        rec(lambda: db.flags(1))
        rec(lambda: db.flags(txn=1, x=2))
        rec(lambda: db.flags(1, 2))
        rec(lambda: db.flags(1, x=2))
        rec(lambda: env.open_db().flags())
        rec(lambda: env.open_db(b"i", integerdup=True).flags())
        rec(lambda: mod._Database())
        rec(lambda: type(db).__name__)
    assert_same(tmp_path, action)


def test_handle_from_another_environment(tmp_path):
    def action(mod, env, rec):
        other = mod.open(env.path() + "-other", max_dbs=2)
        odb = other.open_db(b"x")
        txn = env.begin(write=True)
        rec(lambda: txn.get(b"a", db=odb))
        rec(lambda: txn.get(db=odb))                # which check comes first
        rec(lambda: txn.put(b"a", b"b", db=odb))
        rec(lambda: txn.cursor(odb))
        rec(lambda: mod.Cursor(odb, txn))
        rec(lambda: env.begin(db=odb))
        rec(lambda: txn.stat(odb))
        rec(lambda: txn.drop(odb))
        other.close()
        rec(lambda: txn.get(b"a", db=odb))
        rec(lambda: odb.flags())
        txn.abort()
    assert_same(tmp_path, action)


def test_database_handle_survives_its_creating_txn_abort(tmp_path):
    def action(mod, env, rec):
        w = env.begin(write=True)
        db = env.open_db(b"tmp", txn=w)
        rec(lambda: w.put(b"k", b"v", db=db))
        w.abort()
        rec(lambda: env.begin().get(b"k", db=db))
        rec(env.dbs)
        rec(lambda: env.open_db(b"tmp", create=False))
    assert_same(tmp_path, action)


@pytest.mark.pylmdb_cext
def test_transaction_has_no_extra_attributes(env):
    txn = env.begin()
    for name in ("putmulti", "env", "db", "_pyenv", "__iter__"):
        assert not hasattr(txn, name), name
    with pytest.raises(AttributeError):
        txn.foo = 1
    import lmdb as pylmdb
    ours = sorted(n for n in dir(zl.Transaction) if not n.startswith("__"))
    theirs = sorted(n for n in dir(pylmdb.Transaction) if not n.startswith("__"))
    assert ours == theirs
