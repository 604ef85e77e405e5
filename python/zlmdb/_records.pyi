# Type stubs for declared records (zlmdb._records).
from typing import Any, Final, Literal, final

__all__ = ("RecordDecodeError", "record_codec", "record_fields")

K_ANY: Final[int]
K_INT: Final[int]
K_FLOAT: Final[int]
K_STR: Final[int]
K_BYTES: Final[int]
K_BOOL: Final[int]
K_UUID: Final[int]
K_DATETIME: Final[int]
K_DATE: Final[int]
K_LIST: Final[int]
K_DICT: Final[int]
K_RECORD: Final[int]

class RecordDecodeError(ValueError):
    """A stored value does not fit the map's declared record."""

@final
class RecordCodec:
    """The C codec of one declared record type (zlmdb._native.RecordCodec)."""
    @property
    def record(self) -> type: ...
    @property
    def fields(self) -> tuple[str, ...]: ...
    @property
    def label(self) -> str: ...
    def encode(self, obj: object, /) -> bytes: ...
    def decode(self, data: bytes | bytearray | memoryview, /) -> Any: ...

def record_fields(cls: type) -> list[tuple[str, Any, int, Any]]: ...
def record_codec(cls: type, fmt: Literal["cbor", "json"], label: str | None = None,
                 seen: frozenset[type] | None = None) -> RecordCodec: ...
