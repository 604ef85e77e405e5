# Type stubs for zlmdb._schema.
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from zlmdb._pmap import PersistentMap

__all__ = ("Schema",)

_M = TypeVar("_M", bound=PersistentMap[Any, Any, Any, Any, Any])

class Schema:
    """Base class of a database schema: assign Map* instances (with their
    slots) in ``__init__``, or attach @table classes to a Database."""
    SLOT_DATA_EMPTY: ClassVar[int]
    SLOT_DATA_METADATA: ClassVar[int]
    SLOT_DATA_TYPE: ClassVar[int]
    SLOT_DATA_SEQUENCE: ClassVar[int]
    SLOT_DATA_TABLE: ClassVar[int]
    SLOT_DATA_INDEX: ClassVar[int]
    SLOT_DATA_REPLICATION: ClassVar[int]
    SLOT_DATA_MATERIALIZATION: ClassVar[int]
    def __init__(self) -> None: ...
    # Decorator: the decorated name is bound to an instance of the Map*
    # class on slot_index.
    @staticmethod
    def slot(
        slot_index: int,
        marshal: Callable[[Any], object] | None = None,
        unmarshal: Callable[[Any], object] | None = None,
        build: Callable[[Any, Any], int] | None = None,
        cast: Callable[[bytes | memoryview], object] | None = None,
        compress: int | None = None,
    ) -> Callable[[type[_M]], _M]: ...
