"""Schema: the base class applications derive their table layout from."""

__all__ = ("Schema",)


class Schema:
    """Base class of a database schema: assign persistent maps (with
    explicit slots) in ``__init__``, e.g. ``self.users = MapOidCbor(1, ...)``,
    or use ``@zlmdb.table`` classes with ``Database.attach_table``."""

    # Slot kinds, kept for compatibility with upstream zlmdb (unused there too).
    SLOT_DATA_EMPTY = 0
    SLOT_DATA_METADATA = 1
    SLOT_DATA_TYPE = 2
    SLOT_DATA_SEQUENCE = 3
    SLOT_DATA_TABLE = 4
    SLOT_DATA_INDEX = 5
    SLOT_DATA_REPLICATION = 6
    SLOT_DATA_MATERIALIZATION = 7

    def __init__(self):
        self._slots = {}

    @staticmethod
    def slot(slot_index, marshal=None, unmarshal=None, build=None, cast=None, compress=None):
        """Decorator giving a Map* class a fixed slot: the decorated name is
        bound to an instance of the class on that slot."""
        def decorate(klass):
            kwargs = {"compress": compress}
            if marshal or unmarshal:
                kwargs.update(marshal=marshal, unmarshal=unmarshal)
            if build or cast:
                kwargs.update(build=build, cast=cast)
            return klass(slot_index, **kwargs)
        return decorate
