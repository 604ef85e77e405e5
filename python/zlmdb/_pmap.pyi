# Type stubs for the persistent map base (zlmdb._pmap).
#
# PersistentMap[K, V, KIn, KBound, KPrefix]: K is the key type select()
# yields and V the value type; the last three say what the map accepts
# and default to K, so PersistentMap[UUID, User] reads as expected:
#   KIn     keys of pmap[txn, key] (wider than K for timestamps, which
#           decode to numpy.datetime64 but are accepted as int ns and
#           datetime too);
#   KBound  select() bounds: None components count as zero;
#   KPrefix count() prefixes: a full key, its first component, or a tuple
#           of its first components.
# Each Map* class fills them in from its key layout (zlmdb/_maps.pyi).
from abc import ABCMeta
from collections.abc import Callable
from typing import Any, ClassVar, Generic, Literal, NamedTuple, TypeVar, final, overload

from typing_extensions import Self
from typing_extensions import TypeVar as TypeVarDefault

from zlmdb._database import Transaction

__all__ = ("PersistentMap", "PersistentMapIterator", "NullValueConstraint", "IndexSpec")

_T_co = TypeVar("_T_co", covariant=True)
_K = TypeVar("_K")
_V = TypeVar("_V")
_KIn = TypeVarDefault("_KIn", contravariant=True, default=_K)
_KBound = TypeVarDefault("_KBound", contravariant=True, default=_KIn)
_KPrefix = TypeVarDefault("_KPrefix", contravariant=True, default=_KIn)
_IK = TypeVar("_IK")

COMPRESS_ZLIB: int
COMPRESS_SNAPPY: int

class IndexSpec(NamedTuple):
    """An index of a map: name, the index map's slot, the index map, the key
    function, nullable, unique (map and function None from a catalog)."""
    name: str
    slot: int | None
    pmap: Any
    fkey: Any
    nullable: bool
    unique: bool

class NullValueConstraint(RuntimeError):
    """A non-nullable index was given a null (``None``) key."""

@final
class PersistentMapIterator(Generic[_T_co]):
    """What select() returns: an iterator over a key range, in C."""
    def __iter__(self) -> Self: ...
    def __next__(self) -> _T_co: ...

# At run time a collections.abc.MutableMapping (isinstance holds), as upstream's;
# the stub leaves that base out so that the checkers reject len(pmap) and
# `for x in pmap`, which raise NotImplementedError (tests/typing/typed_misuse.py).
class PersistentMap(Generic[_K, _V, _KIn, _KBound, _KPrefix], metaclass=ABCMeta):
    """Records of one slot; every access names the transaction:
    ``pmap[txn, key]`` (None when missing), ``pmap[txn, key] = value``,
    ``del pmap[txn, key]``, ``(txn, key) in pmap``."""

    #: key component names (zlmdb.codec.KeyCodec)
    KEY: ClassVar[tuple[str, ...]]
    #: value codec name
    VALUE: ClassVar[str | None]
    COMPRESS_ZLIB: ClassVar[int]
    COMPRESS_SNAPPY: ClassVar[int]

    def __init__(
        self,
        slot: int | None = None,
        compress: int | None = None,
        marshal: Callable[[_V], object] | None = None,
        unmarshal: Callable[[Any], _V] | None = None,
        build: Callable[[_V, Any], int] | None = None,
        cast: Callable[[bytes | memoryview], _V] | None = None,
        record: type[_V] | None = None,
    ) -> None: ...
    # Stored empty values read back as None, like missing ones.
    def __getitem__(self, txn_key: tuple[Transaction, _KIn], /) -> _V | None: ...
    def __setitem__(self, txn_key: tuple[Transaction, _KIn], value: _V, /) -> None: ...
    def __delitem__(self, txn_key: tuple[Transaction, _KIn], /) -> None: ...
    def __contains__(self, txn_key: tuple[Transaction, _KIn], /) -> bool: ...
    # select(): (key, value) pairs by default; keys with return_values=False,
    # values with return_keys=False, None for each record with neither.
    @overload
    def select(
        self,
        txn: Transaction,
        from_key: _KBound | None = None,
        to_key: _KBound | None = None,
        return_keys: Literal[True] = True,
        return_values: Literal[True] = True,
        reverse: bool = False,
        limit: int | None = None,
    ) -> PersistentMapIterator[tuple[_K, _V]]: ...
    @overload
    def select(
        self,
        txn: Transaction,
        from_key: _KBound | None,
        to_key: _KBound | None,
        return_keys: Literal[True],
        return_values: Literal[False],
        reverse: bool = False,
        limit: int | None = None,
    ) -> PersistentMapIterator[_K]: ...
    @overload
    def select(
        self,
        txn: Transaction,
        from_key: _KBound | None = None,
        to_key: _KBound | None = None,
        return_keys: Literal[True] = True,
        *,
        return_values: Literal[False],
        reverse: bool = False,
        limit: int | None = None,
    ) -> PersistentMapIterator[_K]: ...
    @overload
    def select(
        self,
        txn: Transaction,
        from_key: _KBound | None,
        to_key: _KBound | None,
        return_keys: Literal[False],
        return_values: Literal[True] = True,
        reverse: bool = False,
        limit: int | None = None,
    ) -> PersistentMapIterator[_V]: ...
    @overload
    def select(
        self,
        txn: Transaction,
        from_key: _KBound | None = None,
        to_key: _KBound | None = None,
        *,
        return_keys: Literal[False],
        return_values: Literal[True] = True,
        reverse: bool = False,
        limit: int | None = None,
    ) -> PersistentMapIterator[_V]: ...
    @overload
    def select(
        self,
        txn: Transaction,
        from_key: _KBound | None,
        to_key: _KBound | None,
        return_keys: Literal[False],
        return_values: Literal[False],
        reverse: bool = False,
        limit: int | None = None,
    ) -> PersistentMapIterator[None]: ...
    @overload
    def select(
        self,
        txn: Transaction,
        from_key: _KBound | None = None,
        to_key: _KBound | None = None,
        *,
        return_keys: Literal[False],
        return_values: Literal[False],
        reverse: bool = False,
        limit: int | None = None,
    ) -> PersistentMapIterator[None]: ...
    @overload
    def select(
        self,
        txn: Transaction,
        from_key: _KBound | None = None,
        to_key: _KBound | None = None,
        return_keys: bool = True,
        return_values: bool = True,
        reverse: bool = False,
        limit: int | None = None,
    ) -> PersistentMapIterator[tuple[_K, _V] | _K | _V | None]: ...
    def count(self, txn: Transaction, prefix: _KPrefix | None = None) -> int: ...
    def count_range(self, txn: Transaction, from_key: _KBound | None,
                    to_key: _KBound | None) -> int: ...
    def truncate(self, txn: Transaction, rebuild_indexes: bool = True) -> int: ...
    # The index map's key is fkey(value) (None: no entry, if nullable) and
    # its value this map's key, so its value type must be this map's K.
    # fkey may name a field, or a tuple of fields for a composite key (a
    # declared record's attributes, a marshalled dict's keys).
    def attach_index(
        self,
        name: str,
        pmap: PersistentMap[Any, _K, _IK, Any, Any],
        fkey: Callable[[_V], _IK | None] | str | tuple[str, ...],
        nullable: bool = False,
        unique: bool = True,
    ) -> None: ...
    def detach_index(self, name: str) -> None: ...
    def indexes(self) -> list[str]: ...
    def index_specs(self) -> list[IndexSpec]: ...
    # The map's codec, public for tools that read stored records themselves.
    @property
    def slot(self) -> int | None: ...
    @property
    def compress(self) -> int | None: ...
    def encode_key(self, key: _KIn) -> bytes: ...
    def physical_key(self, key: _KIn) -> bytes: ...
    def decode_key(self, data: bytes | bytearray | memoryview) -> _K: ...
    def encode_value(self, value: _V) -> bytes: ...
    def decode_value(self, data: bytes | bytearray | memoryview) -> _V | None: ...
    def is_index(self) -> bool: ...
    def rebuild_index(self, txn: Transaction, name: str) -> tuple[int, int]: ...
    def rebuild_indexes(self, txn: Transaction) -> tuple[int, int]: ...
