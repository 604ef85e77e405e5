"""Typed use of every layer of zlmdb, for the type checkers and for Python.

`make typecheck` runs mypy --strict and pyright (strict) over this file:
each assert_type() fails the check when a stub gives a different type.
tests/python/test_stubs.py also runs it, so every line is real, working
usage of the runtime API, not just something the stubs accept.  (The C
types are not subscriptable at run time, so their generic forms are quoted.)
"""
from __future__ import annotations

import asyncio
import datetime
import sys
import tempfile
import uuid
from collections.abc import Iterator
from typing import Any, assert_type

import numpy as np
from numpy.typing import NDArray

import zlmdb
import zlmdb.lmdb as lmdb
import zlmdb.lmdb.aio
from zlmdb import codec
from zlmdb.codec import CBORDecodeError, CBORTag, KeyCodec

# -- the low-level API (py-lmdb compatible) ------------------------------------


def lowlevel(path: str) -> None:
    assert_type(lmdb.version(), tuple[int, int, int])
    assert_type(lmdb.version(subpatch=True), tuple[int, int, int, int])
    env = lmdb.open(path, map_size=1 << 24, max_dbs=4)
    assert_type(env, lmdb.Environment)
    users = env.open_db(b"users")
    dups = env.open_db(b"dups", dupsort=True)
    assert_type(users.flags()["dupsort"], bool)

    with env.begin(write=True, db=users) as txn:
        assert_type(txn, "lmdb.Transaction[bytes]")
        assert_type(txn.put(b"alice", b"admin"), bool)
        txn.put(b"bob", bytearray(b"user"))
        txn.put(b"k", b"v1", db=dups)
        txn.put(b"k", b"v2", db=dups)
        assert_type(txn.replace(b"bob", b"user2"), bytes | None)
        cur = txn.cursor()
        consumed, added = cur.putmulti([(b"carol", b"user"), (b"dave", b"user")])
        assert consumed == added == 2

    with env.begin(db=users) as txn:
        value = txn.get(b"alice")
        assert_type(value, bytes | None)
        assert value == b"admin"
        assert_type(txn.get(b"nobody", b"-"), bytes)
        assert_type(txn.stat()["entries"], int)
        cur = txn.cursor()
        assert_type(cur, "lmdb.Cursor[bytes]")
        for key, val in cur:
            assert_type(key, bytes)
            assert_type(val, bytes)
        keys: Iterator[bytes] = cur.iternext(values=False)
        assert list(keys) == [b"alice", b"bob", b"carol", b"dave"]
        assert_type(cur.iterprev(keys=False), Iterator[bytes])
        assert cur.set_range(b"c") and cur.key() == b"carol"
        assert_type(cur.item(), tuple[bytes, bytes])
        assert_type(cur.getmulti([b"alice", b"bob"]), list[tuple[bytes, bytes]])
        assert_type(cur.getmulti([b"alice"], values=False), list[bytes])
        dcur = txn.cursor(db=dups)
        assert dcur.set_key(b"k")
        assert_type(dcur.iternext_dup(), Iterator[bytes])
        assert list(dcur.iternext_dup()) == [b"v1", b"v2"]

    with env.begin(buffers=True, db=users) as btxn:
        assert_type(btxn, "lmdb.Transaction[memoryview]")
        view = btxn.get(b"alice")
        assert_type(view, memoryview | None)
        assert view is not None and bytes(view) == b"admin"
        assert_type(btxn.cursor().value(), memoryview)

    try:
        with env.begin() as rtxn:
            rtxn.put(b"x", b"y")
    except lmdb.ReadonlyError as exc:
        error: lmdb.Error = exc
        assert isinstance(error, lmdb.Error)
    info = env.info()
    assert_type(info["map_size"], int)
    assert_type(env.flags()["readonly"], bool)
    assert_type(env.dbs(), list[bytes])
    env.sync(True)
    env.close()


async def lowlevel_async(path: str) -> None:
    aenv = zlmdb.lmdb.aio.wrap(lmdb.open(path, max_dbs=2))
    async with aenv.begin(write=True) as txn:
        assert_type(txn, "zlmdb.lmdb.aio.AsyncTransaction[bytes]")
        assert_type(await txn.put(b"greeting", b"hello"), bool)
    async with aenv.begin() as txn:
        assert_type(await txn.get(b"greeting"), bytes | None)
        async with txn.cursor() as cur:
            async for key, value in cur.iternext():
                assert_type(key, bytes)
                assert (key, value) == (b"greeting", b"hello")
            assert_type(await cur.iternext(values=False), list[bytes])
            assert_type(await cur.first(), bool)
    assert_type((await aenv.stat())["entries"], int)
    assert_type(aenv.path(), str)
    await aenv.close()


# -- codecs -------------------------------------------------------------------


def codecs() -> None:
    data = codec.cbor_dumps({"a": [1, 2.5, None]})
    assert_type(data, bytes)
    assert codec.cbor_loads(data) == {"a": [1, 2.5, None]}
    assert_type(codec.json_dumps([1, "x"]), str)
    assert_type(codec.json_dumpb([1, "x"], default=str), bytes)
    assert codec.json_loads(b'{"x": 1}') == {"x": 1}
    tag = codec.cbor_loads(codec.cbor_dumps(CBORTag(6000, "v")))
    assert isinstance(tag, CBORTag) and tag.tag == 6000
    try:
        codec.cbor_loads(b"\x82\x01")
    except CBORDecodeError as exc:
        assert_type(exc.pos, int | None)
    kc = KeyCodec(("uuid", "string"))
    assert_type(kc.fixed_size, int | None)
    assert_type(kc.components, tuple[str, ...])
    u = uuid.uuid4()
    raw = kc.encode((u, "name"))
    assert kc.decode(raw) == (u, "name")
    assert_type(KeyCodec("oid", timestamp="int").encode_prefix((5,)), bytes)
    assert not codec.undefined


# -- the ORM ------------------------------------------------------------------


class User:
    def __init__(self, oid: int, name: str, email: str | None = None) -> None:
        self.oid, self.name, self.email = oid, name, email

    def marshal(self) -> dict[str, Any]:
        return {"oid": self.oid, "name": self.name, "email": self.email}

    @staticmethod
    def parse(data: dict[str, Any]) -> User:
        return User(data["oid"], data["name"], data["email"])


@zlmdb.table("6f9a1c0e-3d2b-4c55-9b1e-2f8d7a6c5b41", marshal=User.marshal, parse=User.parse)
class Users(zlmdb.MapOidCbor[User]):
    """All users, by oid."""


class AppSchema(zlmdb.Schema):
    # fixed slots from 11 on; attach_table() allocates from 1
    def __init__(self) -> None:
        super().__init__()
        self.users = zlmdb.MapOidCbor(11, marshal=User.marshal, unmarshal=User.parse)
        self.by_name = zlmdb.MapStringOid(12)
        self.users.attach_index("by_name", self.by_name, lambda user: user.name)
        self.events = zlmdb.MapUuidTimestampCbor(13, marshal=lambda e: e,
                                                 unmarshal=lambda d: str(d))
        self.tags = zlmdb.MapUuidUuidSet(14)
        self.blobs: zlmdb.MapOidPickle[list[int]] = zlmdb.MapOidPickle(15)
        self.arrays = zlmdb.MapStringNumpy(16)
        self.names = zlmdb.MapUuidString(17)


def orm() -> None:
    schema = AppSchema()
    assert_type(schema.users, zlmdb.MapOidCbor[User])
    assert_type(schema.events, zlmdb.MapUuidTimestampCbor[str])
    assert_type(schema.blobs, zlmdb.MapOidPickle[list[int]])
    generic: zlmdb.PersistentMap[int, User] = schema.users
    assert generic is schema.users

    db = zlmdb.Database(maxsize=1 << 24)
    users = db.attach_table(Users)
    assert_type(users, Users)
    stats = zlmdb.TransactionStats()
    u1, u2 = uuid.uuid4(), uuid.uuid4()
    ts = np.datetime64(1_700_000_000_000_000_000, "ns")
    with db.begin(write=True, stats=stats) as txn:
        assert_type(txn, zlmdb.Transaction)
        users[txn, 1] = User(1, "ada", "ada@example.org")
        schema.users[txn, 1] = User(1, "ada")
        schema.users[txn, 2] = User(2, "bob")
        schema.events[txn, (u1, ts)] = "created"
        schema.events[txn, (u1, 1_700_000_000_000_000_001)] = "renamed"
        schema.events[txn, (u1, datetime.datetime(2024, 1, 1))] = "moved"
        schema.tags[txn, u1] = {u2}
        schema.blobs[txn, 7] = [1, 2, 3]
        schema.arrays[txn, "a"] = np.arange(4.0)
        schema.names[txn, u2] = ""
    assert stats.puts == 12     # index entries count too: two users by_name

    with db.begin() as txn:
        user = users[txn, 1]
        assert_type(user, User | None)
        assert user is not None and user.email == "ada@example.org"
        oid = schema.by_name[txn, "bob"]
        assert_type(oid, int | None)
        assert oid == 2 and (txn, 2) in schema.users
        for key, value in schema.users.select(txn, from_key=1, limit=10):
            assert_type(key, int)
            assert_type(value, User)
        names = [u.name for u in schema.users.select(txn, return_keys=False)]
        assert names == ["ada", "bob"]
        keys = list(schema.events.select(txn, from_key=(u1, None), return_values=False))
        assert_type(keys, list[tuple[uuid.UUID, np.datetime64]])
        assert len(keys) == 3
        assert_type(schema.events.count(txn, prefix=(u1,)), int)
        assert schema.events.count(txn, prefix=u1) == 3
        assert_type(schema.tags[txn, u1], set[uuid.UUID] | None)
        assert_type(schema.blobs[txn, 7], list[int] | None)
        array = schema.arrays[txn, "a"]
        assert_type(array, NDArray[Any] | None)
        assert array is not None and float(array.sum()) == 6.0
        assert_type(schema.names[txn, u2], str | None)
        assert schema.users.indexes() == ["by_name"]
        assert_type(db.stats()["num_slots"], int)
        assert_type(txn.get(b"\x00\x00"), bytes | memoryview | None)

    with db.begin(write=True) as txn:
        del schema.users[txn, 2]
        assert_type(schema.users.rebuild_indexes(txn), tuple[int, int])
        assert_type(schema.users.truncate(txn), int)
    assert_type(db.config()["dbpath"], str)
    db.close()


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        lowlevel(tmp + "/low")
        asyncio.run(lowlevel_async(tmp + "/aio"))
    codecs()
    orm()
    print("typed usage ran")
    return 0


if __name__ == "__main__":
    sys.exit(main())
