"""Placeholder for the PyPy side of zlmdb.codec's key codec; replaced by its real module before this branch merges."""


class KeyCodec:
    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise NotImplementedError
