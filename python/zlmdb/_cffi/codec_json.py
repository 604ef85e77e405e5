"""Placeholder for the PyPy side of zlmdb.codec's json codec; replaced by its real module before this branch merges."""


def json_dumps(obj, *, default=None):  # type: ignore[no-untyped-def]
    raise NotImplementedError


def json_dumpb(obj, *, default=None):  # type: ignore[no-untyped-def]
    raise NotImplementedError


def json_loads(data):  # type: ignore[no-untyped-def]
    raise NotImplementedError
