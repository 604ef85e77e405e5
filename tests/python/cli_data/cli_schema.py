"""The schema of the database the CLI tests build (tests/python/test_cli.py).

It is imported by the builder and the writer, and by ``zlmdb ... --schema``
in the tested subprocesses; never by the pytest process itself.
"""
import uuid

import zlmdb


def _same(x):
    return x


class Score:
    """A FlatBuffers record: a table with an oid (field 0) and a score (1)."""

    def __init__(self, buf):
        self._buf = bytes(buf)

    @staticmethod
    def build(obj, builder):
        builder.StartObject(2)
        builder.PrependUint64Slot(0, obj["oid"], 0)
        builder.PrependInt32Slot(1, obj["score"], 0)
        return builder.EndObject()

    def marshal(self):
        return {"fb_bytes": len(self._buf)}


@zlmdb.table("7c1e0f5a-2b1d-4c3e-8f00-0000000c1101", marshal=_same, parse=_same)
class Users(zlmdb.MapOidCbor):
    """Users by oid."""


@zlmdb.table("7c1e0f5a-2b1d-4c3e-8f00-0000000c1102")
class UsersByName(zlmdb.MapStringOid):
    """Unique index: name -> oid."""


@zlmdb.table("7c1e0f5a-2b1d-4c3e-8f00-0000000c1103")
class UsersByRealm(zlmdb.MapOidOidOid):
    """Non-unique index: (realm, oid) -> oid."""


@zlmdb.table("7c1e0f5a-2b1d-4c3e-8f00-0000000c1104", marshal=_same, parse=_same)
class Events(zlmdb.MapUuidTimestampCbor):
    pass


@zlmdb.table("7c1e0f5a-2b1d-4c3e-8f00-0000000c1105", marshal=_same, parse=_same)
class Docs(zlmdb.MapStringJson):
    pass


@zlmdb.table("7c1e0f5a-2b1d-4c3e-8f00-0000000c1106", build=Score.build, cast=Score)
class Scores(zlmdb.MapOidFlatBuffers):
    pass


@zlmdb.table("7c1e0f5a-2b1d-4c3e-8f00-0000000c1107")
class Arrays(zlmdb.MapStringNumpy):
    pass


@zlmdb.table("7c1e0f5a-2b1d-4c3e-8f00-0000000c1108")
class Pickles(zlmdb.MapOidPickle):
    pass


@zlmdb.table("7c1e0f5a-2b1d-4c3e-8f00-0000000c1109")
class Friends(zlmdb.MapOidOidSet):
    pass


@zlmdb.table("7c1e0f5a-2b1d-4c3e-8f00-0000000c110a")
class Pairs(zlmdb.MapStringStringUuid):
    pass


@zlmdb.table("7c1e0f5a-2b1d-4c3e-8f00-0000000c110b", marshal=_same, parse=_same,
             compress=zlmdb.PersistentMap.COMPRESS_ZLIB)
class Packed(zlmdb.MapOidCbor):
    pass


#: an unregistered map on a fixed slot (upstream's Schema style)
LINKS = zlmdb.MapUuidUuid(40)


class Schema:
    """``--schema cli_schema.py:Schema`` calls ``Schema.attach(db)``."""

    @staticmethod
    def attach(db):
        s = Schema()
        s.users = db.attach_table(Users)
        s.by_name = db.attach_table(UsersByName)
        s.by_realm = db.attach_table(UsersByRealm)
        s.users.attach_index("by_name", s.by_name, lambda u: u["name"])
        s.users.attach_index("by_realm", s.by_realm, lambda u: (u["realm"], u["oid"]),
                             unique=False)
        s.events = db.attach_table(Events)
        s.docs = db.attach_table(Docs)
        s.scores = db.attach_table(Scores)
        s.arrays = db.attach_table(Arrays)
        s.pickles = db.attach_table(Pickles)
        s.friends = db.attach_table(Friends)
        s.pairs = db.attach_table(Pairs)
        s.packed = db.attach_table(Packed)
        s.links = LINKS
        return s


USER_COUNT = 6
EVENT_UUID = uuid.UUID("00000000-0000-0000-0000-00000000e001")
