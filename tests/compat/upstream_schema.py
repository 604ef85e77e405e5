"""Fixture schema, run **only under upstream zlmdb** (imported by
upstream_writer.py and upstream_reader.py inside build/upstream-venv).

Registered tables (``@zlmdb.table`` + ``db.attach_table``), attached in this
order into an empty database, so upstream allocates slots 1..5:

    slot 1  Users               MapOidCbor        oid -> User (CBOR via marshal/parse)
    slot 2  IndexUsersByName    MapStringOid      unique index  user.name -> oid
    slot 3  IndexUsersByRealm   MapOidOidOid      non-unique composite index
                                                  (user.realm_oid, user.oid) -> oid
    slot 4  IndexUsersByEmail   MapStringOid      nullable (unique) index user.email -> oid
    slot 5  EventLog            MapTimestampUuidFlatBuffers (ts, uuid) -> Item

Registry names are the bare class names: upstream uses twisted's ``qual``
only when Twisted is importable, and the upstream venv has no Twisted.
"""

import zlmdb
from zlmdb import flatbuffers
from zlmdb.flatbuffers import encode, number_types, packer, table

import compat_common as cc


class Doc(object):
    """User class for CBOR/JSON maps: wraps the marshalled dict."""

    def __init__(self, data):
        self._data = dict(data)

    def __getattr__(self, name):
        try:
            return self.__dict__["_data"][name]
        except KeyError:
            raise AttributeError(name)

    def marshal(self):
        return dict(self._data)

    @staticmethod
    def parse(data):
        return Doc(data)


def doc_marshal(obj):
    return obj.marshal()


class ItemAccessor(object):
    """FlatBuffers accessor returned by ``cast`` (see compat_common FB layout)."""

    def __init__(self, buf):
        self._buf = bytes(buf)
        n = encode.Get(packer.uoffset, self._buf, 0)
        self._tab = table.Table(self._buf, n)

    def oid(self):
        o = number_types.UOffsetTFlags.py_type(self._tab.Offset(4))
        return self._tab.Get(number_types.Uint64Flags, o + self._tab.Pos) if o else 0

    def name(self):
        o = number_types.UOffsetTFlags.py_type(self._tab.Offset(6))
        return self._tab.String(o + self._tab.Pos).decode("utf8") if o else None

    def score(self):
        o = number_types.UOffsetTFlags.py_type(self._tab.Offset(8))
        return self._tab.Get(number_types.Int32Flags, o + self._tab.Pos) if o else 0

    def to_dict(self):
        return {"oid": self.oid(), "name": self.name(), "score": self.score()}


def fb_build(value, builder):
    """``build``: accepts the fixture dict (or an accessor) -> table offset."""
    if isinstance(value, ItemAccessor):
        value = value.to_dict()
    return cc.fb_item_build(value, builder)


def fb_cast(buf):
    return ItemAccessor(buf)


def ctor_kwargs(codec):
    if codec in ("cbor", "json"):
        return {"marshal": doc_marshal, "unmarshal": Doc.parse}
    if codec == "flatbuffers":
        return {"build": fb_build, "cast": fb_cast}
    return {}


def to_canon(codec, value):
    """Canonical form of a value as returned by upstream's deserializer."""
    if value is None:
        return None
    if codec in ("cbor", "json") and isinstance(value, Doc):
        return cc.canon(value.marshal())
    if codec == "flatbuffers" and isinstance(value, ItemAccessor):
        return value.to_dict()
    return cc.canon(value)


USERS_OID = "6a2d1b1e-0c63-4d55-9a43-5f1a3c7e0001"
IDX_NAME_OID = "6a2d1b1e-0c63-4d55-9a43-5f1a3c7e0002"
IDX_REALM_OID = "6a2d1b1e-0c63-4d55-9a43-5f1a3c7e0003"
IDX_EMAIL_OID = "6a2d1b1e-0c63-4d55-9a43-5f1a3c7e0004"
EVENTLOG_OID = "6a2d1b1e-0c63-4d55-9a43-5f1a3c7e0005"


@zlmdb.table(USERS_OID, marshal=doc_marshal, parse=Doc.parse)
class Users(zlmdb.MapOidCbor):
    """Fixture users table (oid -> CBOR user)."""


@zlmdb.table(IDX_NAME_OID)
class IndexUsersByName(zlmdb.MapStringOid):
    """Unique index: user name -> user oid."""


@zlmdb.table(IDX_REALM_OID)
class IndexUsersByRealm(zlmdb.MapOidOidOid):
    """Non-unique index: (realm oid, user oid) -> user oid."""


@zlmdb.table(IDX_EMAIL_OID)
class IndexUsersByEmail(zlmdb.MapStringOid):
    """Nullable index: user email -> user oid."""


@zlmdb.table(EVENTLOG_OID, build=fb_build, cast=fb_cast)
class EventLog(zlmdb.MapTimestampUuidFlatBuffers):
    # no docstring on purpose: the registry record then has no "description"
    pass


# (class, codec, index spec) in attach order; index spec = (name, fkey-name, unique, nullable)
REGISTERED = [
    (Users, "cbor", None),
    (IndexUsersByName, "plain", ("idx_name", "name", True, False)),
    (IndexUsersByRealm, "plain", ("idx_realm", "realm_oid,oid", False, False)),
    (IndexUsersByEmail, "plain", ("idx_email", "email", True, True)),
    (EventLog, "flatbuffers", None),
]

FKEYS = {
    "name": lambda u: u.name,
    "realm_oid,oid": lambda u: (u.realm_oid, u.oid),
    "email": lambda u: u.email,
}


def attach_all(db):
    """Attach the registered tables and the indexes; return {class name: pmap}."""
    pmaps = {}
    for klass, _codec, _idx in REGISTERED:
        pmaps[klass.__name__] = db.attach_table(klass)
    users = pmaps["Users"]
    for klass, _codec, idx in REGISTERED:
        if idx:
            name, fk, unique, nullable = idx
            users.attach_index(name, pmaps[klass.__name__], FKEYS[fk],
                               nullable=nullable, unique=unique)
    return pmaps
