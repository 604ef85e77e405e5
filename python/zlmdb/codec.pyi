# Type stubs for zlmdb.codec: CBOR, JSON and key codecs in C (docs/codecs.md).
#
# Decoded data is typed Any, as json.loads is: its shape is whatever was
# encoded, which no static type of this module can know.
from collections.abc import Callable, Iterable
from typing import Any, Final, Literal, final

from typing_extensions import Buffer

__all__ = (
    "cbor_dumps", "cbor_loads", "json_dumps", "json_dumpb", "json_loads",
    "KeyCodec", "CBORTag", "CBORSimpleValue", "CBORDecodeError", "undefined",
    "MAX_DEPTH",
)

#: the most containers the encoders and decoders accept nested
MAX_DEPTH: Final[int]

# default(obj) returns an encodable replacement for an object of another type.
_Default = Callable[[Any], object]

def cbor_dumps(obj: object, /, *, default: _Default | None = None) -> bytes: ...
def cbor_loads(data: Buffer, /) -> Any: ...
def json_dumps(obj: object, /, *, default: _Default | None = None) -> str: ...
def json_dumpb(obj: object, /, *, default: _Default | None = None) -> bytes: ...
def json_loads(data: str | Buffer, /) -> Any: ...

class CBORTag:
    """A tagged item whose tag has no Python type (like ``cbor2.CBORTag``)."""
    tag: int
    value: Any
    def __init__(self, tag: int, value: object) -> None: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

class CBORSimpleValue:
    """An unassigned CBOR simple value (0..19, 32..255)."""
    value: int
    def __init__(self, value: int) -> None: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

@final
class _Undefined:
    """The type of :data:`undefined`, a falsy singleton."""
    def __bool__(self) -> Literal[False]: ...
    def __reduce__(self) -> str: ...

#: the CBOR ``undefined`` value (0xf7)
undefined: Final[_Undefined]

class CBORDecodeError(ValueError):
    msg: str
    #: byte offset of the problem, when known
    pos: int | None
    def __init__(self, msg: str, pos: int | None = None) -> None: ...

_TimestampMode = Literal["auto", "int", "numpy", "datetime"]

@final
class KeyCodec:
    """Order-preserving (composite) keys: one component name, or a sequence
    of them (uint8 uint16 uint16le uint32 uint64 oid uuid timestamp bytes16
    bytes20 bytes32 string).  Keys are the bare value for one component,
    else a tuple.  The layout is runtime data, so encode() takes any object
    and decode() returns Any; the Map* classes type their keys."""
    def __new__(cls, components: str | Iterable[str], *,
                timestamp: _TimestampMode = "auto") -> KeyCodec: ...
    @property
    def components(self) -> tuple[str, ...]: ...
    @property
    def fixed_size(self) -> int | None: ...
    def encode(self, key: object, /, *, null_as_zero: bool = False,
               lenient: bool = False, value: bool = False) -> bytes: ...
    def encode_prefix(self, values: tuple[object, ...], /, *, null_as_zero: bool = False,
                      lenient: bool = False) -> bytes: ...
    def decode(self, data: Buffer, /) -> Any: ...
