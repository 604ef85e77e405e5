"""The tables of the catalog compatibility test, imported by our side
(test_catalog_compat.py) and by upstream's (upstream_catalog.py, in the
upstream venv): both have the import name ``zlmdb``."""
import zlmdb


def _same(x):
    return x


@zlmdb.table("4a0f6c2e-1b3d-4e5f-8a9b-0c1d2e3f4a01", marshal=_same, parse=_same)
class Users(zlmdb.MapOidCbor):
    """Users."""


@zlmdb.table("4a0f6c2e-1b3d-4e5f-8a9b-0c1d2e3f4a02")
class UsersByName(zlmdb.MapStringOid):
    pass


@zlmdb.table("4a0f6c2e-1b3d-4e5f-8a9b-0c1d2e3f4a03")
class Upstreams(zlmdb.MapUuidString):
    """Written by upstream."""


def attach(db):
    """Users and its unique index by name."""
    users = db.attach_table(Users)
    by_name = db.attach_table(UsersByName)
    users.attach_index("by_name", by_name, lambda u: u["name"])
    return users, by_name
