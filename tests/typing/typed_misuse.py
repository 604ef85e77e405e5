"""Misuse the type checkers must reject: each line below is an error.

Every marked line carries `# type: ignore[code]` for mypy and
`# pyright: ignore[rule]` for pyright.  Both checkers are told to report an
ignore comment that suppresses nothing (mypy: warn_unused_ignores; pyright:
reportUnnecessaryTypeIgnoreComment), so a stub that becomes too permissive
to catch one of these mistakes fails `make typecheck`.  Never run.
"""
from __future__ import annotations

import pathlib
import uuid

import numpy as np

import zlmdb
import zlmdb.lmdb as lmdb
import zlmdb.lmdb.aio
from zlmdb import codec


class User:
    def __init__(self, oid: int, name: str) -> None:
        self.oid, self.name = oid, name


def lowlevel() -> None:
    lmdb.open(pathlib.Path("/tmp/db"))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    env = lmdb.open("/tmp/db")
    env.begin(wirte=True)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
    env.sync(flush=True)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    with env.begin(write=True) as txn:
        txn.put("key", b"value")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        txn.get(42)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType]
        txn.cursor().put(b"k", val=b"v")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
        txn.cursor().set_key(key=b"k")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
        txn.putmulti([(b"k", b"v")])  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    with env.begin(buffers=True) as btxn:
        raw: bytes | None = btxn.get(b"k")  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
        print(raw)
    version: tuple[int, int, int] = lmdb.version(subpatch=True)  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    print(version)
    error: lmdb.Error = MemoryError()  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    print(error)


async def lowlevel_async() -> None:
    aenv = zlmdb.lmdb.aio.wrap(lmdb.open("/tmp/db"))
    await aenv.path()  # type: ignore[misc]  # pyright: ignore[reportGeneralTypeIssues]
    aenv.no_such_method()  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]


def codecs() -> None:
    codec.cbor_loads("not bytes")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    codec.KeyCodec("oid", timestamp="ms")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    codec.cbor_dumps({}, None)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


def orm() -> None:
    db = zlmdb.Database(maxsize="10 MiB")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    users = zlmdb.MapOidCbor(1, marshal=lambda u: u.name, unmarshal=lambda d: User(0, d))
    by_name = zlmdb.MapStringOid(2)
    by_uuid = zlmdb.MapUuidUuid(3)
    events = zlmdb.MapUuidTimestampCbor[str](4)
    db.attach_table(User)  # type: ignore[type-var]  # pyright: ignore[reportArgumentType]
    # the index's values must be the record keys (int), its keys what fkey returns
    users.attach_index("by_uuid", by_uuid, lambda u: uuid.uuid4())  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    users.attach_index("by_name", by_name, lambda u: u.oid)  # type: ignore[arg-type, return-value]  # pyright: ignore[reportArgumentType]
    with db.begin(write=True) as txn:
        users[txn, "1"] = User(1, "ada")  # type: ignore[index]  # pyright: ignore[reportArgumentType]
        users[txn, 1] = "ada"  # type: ignore[assignment]  # pyright: ignore[reportArgumentType]
        users[1]  # type: ignore[index]  # pyright: ignore[reportArgumentType]
        users[txn, 1].name  # type: ignore[union-attr]  # pyright: ignore[reportOptionalMemberAccess]
        events[txn, (uuid.uuid4(), "2024-01-01")] = "x"  # type: ignore[index]  # pyright: ignore[reportArgumentType]
        events[txn, uuid.uuid4()] = "x"  # type: ignore[index]  # pyright: ignore[reportArgumentType]
        users.select(txn, from_key="a")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
        users.count(txn, prefix=(1,))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        len(users)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        for _ in users:  # type: ignore[attr-defined]  # pyright: ignore[reportGeneralTypeIssues, reportUnknownVariableType]
            pass
        for key in users.select(txn, return_values=False):
            key.upper()  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
        stamp: int = next(events.select(txn, return_values=False))[1]  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
        print(stamp, np.datetime64)
