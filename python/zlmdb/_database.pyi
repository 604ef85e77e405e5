# Type stubs for zlmdb._database: Database, Transaction, @table.
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal, NotRequired, Protocol, TypedDict, TypeVar, final, overload

from typing_extensions import Buffer, Self, disjoint_base

from zlmdb._pmap import PersistentMap
from zlmdb.lmdb import Environment
from zlmdb.lmdb import Transaction as _LmdbTransaction

__all__ = ("Database", "Transaction", "TransactionStats", "table", "TABLES_BY_UUID")

_M = TypeVar("_M", bound=PersistentMap[Any, Any, Any, Any, Any])
_C = TypeVar("_C", bound=type[PersistentMap[Any, Any, Any, Any, Any]])

#: an LMDB format: "0.9" (LMDB 0.9, data format v1) or "1.0" (LMDB 1.0, v3)
_LibVersion = Literal["0.9", "1.0"]

#: the format of new databases opened without lib_version
DEFAULT_LIB_VERSION: _LibVersion
_LIB_VERSION_TO_MAJOR: dict[str, int]

#: tables declared with @table, by their oid
TABLES_BY_UUID: dict[uuid.UUID, type[PersistentMap[Any, Any, Any, Any, Any]]]

class _TableDecorator(Protocol):
    def __call__(self, klass: _C, /) -> _C: ...

# marshal/parse serve CBOR and JSON maps, build/cast FlatBuffers maps; the
# class's own type parameters say what they handle.
def table(
    oid: uuid.UUID | str,
    marshal: Callable[[Any], object] | None = None,
    parse: Callable[[Any], object] | None = None,
    build: Callable[[Any, Any], int] | None = None,
    cast: Callable[[bytes | memoryview], object] | None = None,
    compress: int | None = None,
    record: type | None = None,
) -> _TableDecorator: ...

@disjoint_base
class TransactionStats:
    puts: int
    dels: int
    def __init__(self) -> None: ...
    def reset(self) -> None: ...
    @property
    def started(self) -> int: ...
    @property
    def duration(self) -> int: ...

# zlmdb.lmdb.Transaction is final for Python code (as py-lmdb's), but the
# extension derives this one type from it in C.
@final
class Transaction(_LmdbTransaction[Any]):  # type: ignore[misc]  # pyright: ignore[reportGeneralTypeIssues]
    """Use as ``with db.begin(write=True) as txn:``: committed when the block
    ends normally, aborted when it raises.  A zlmdb.lmdb.Transaction: the
    low-level methods (cursor(), stat(), ...) work on it too."""
    @overload
    def __new__(cls, db: Database, write: bool = False, buffers: bool = False,
                stats: TransactionStats | None = None) -> Self: ...
    @overload
    def __new__(cls, db: Environment | None, write: bool = False, buffers: bool = False,
                stats: TransactionStats | None = None, growth: float = 0,
                maxsize: int = 0) -> Self: ...
    @property
    def stats(self) -> TransactionStats | None: ...
    @property
    def failed(self) -> bool: ...
    @property
    def write(self) -> bool: ...
    @property
    def is_open(self) -> bool: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, exc_type: type[BaseException] | None, exc_value: BaseException | None,
                 tb: TracebackType | None, /) -> None: ...
    def id(self) -> int: ...
    # A write whose engine call stopped part way leaves the transaction
    # failed: commit() then aborts and raises BadTxnError.
    def commit(self) -> None: ...
    def abort(self) -> None: ...
    # The raw API on physical keys (slot prefix included): memoryviews from
    # a buffers=True transaction.
    def get(self, key: Buffer, default: Any = None,
            db: Any = None) -> bytes | memoryview | None: ...
    # upstream's raw put/delete, not the low-level signatures they replace
    def put(  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        self, key: bytes, data: bytes, overwrite: bool = True) -> bool: ...
    def delete(  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        self, key: bytes) -> bool: ...

class _Config(TypedDict):
    is_temp: bool
    dbpath: str
    maxsize: int
    readonly: bool
    lock: bool
    sync: bool
    create: bool
    open_now: bool
    writemap: bool
    context: str | None
    growth: float | None

class _SlotStats(TypedDict):
    oid: str | None
    slot: int
    name: str | None
    description: str | None
    records: int

class _Stats(TypedDict):
    num_slots: int
    current_size: int
    max_size: int
    page_size: int
    pages: int
    used: int
    free: float
    read_only: bool
    sync_enabled: bool
    lib_version: _LibVersion
    lmdb_version: str
    # env.stat()
    psize: int
    depth: int
    branch_pages: int
    leaf_pages: int
    overflow_pages: int
    entries: int
    # env.info()
    map_addr: int
    map_size: int
    last_pgno: int
    last_txnid: int
    max_readers: int
    num_readers: int
    # with include_slots=True
    slots: NotRequired[list[_SlotStats]]

class Database:
    """One LMDB environment (a directory); tables are slots of its main
    database.  ``dbpath=None`` uses a temporary directory."""
    #: a logger, kept for upstream compatibility (zlmdb does not use it)
    log: object
    def __init__(
        self,
        dbpath: str | None = None,
        maxsize: int = 10485760,
        readonly: bool = False,
        lock: bool = True,
        sync: bool = True,
        create: bool = True,
        open_now: bool = True,
        writemap: bool = False,
        context: object = None,
        log: object = None,
        growth: float | None = None,
        initial_size: int | None = None,
        lib_version: _LibVersion | None = None,
        max_dbs: int = 0,
    ) -> None: ...
    # The database already open at dbpath in this process, or a new one.
    @staticmethod
    def open(
        dbpath: str | None = None,
        *,
        maxsize: int = 10485760,
        readonly: bool = False,
        lock: bool = True,
        sync: bool = True,
        create: bool = True,
        open_now: bool = True,
        writemap: bool = False,
        context: object = None,
        log: object = None,
        growth: float | None = None,
        initial_size: int | None = None,
        lib_version: _LibVersion | None = None,
        max_dbs: int = 0,
    ) -> Database: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, exc_type: type[BaseException] | None, exc_value: BaseException | None,
                 tb: TracebackType | None) -> Literal[False]: ...
    def close(self) -> None: ...
    @property
    def context(self) -> object: ...
    # The database's format; before it first opened, the one asked for.
    @property
    def lib_version(self) -> _LibVersion | None: ...
    @property
    def dbpath(self) -> str: ...
    @property
    def maxsize(self) -> int: ...
    @property
    def is_sync(self) -> bool: ...
    @property
    def is_readonly(self) -> bool: ...
    @property
    def is_writemap(self) -> bool: ...
    @property
    def is_open(self) -> bool: ...
    @property
    def env(self) -> Environment | None: ...
    def begin(self, write: bool = False, buffers: bool = False,
              stats: TransactionStats | None = None) -> Transaction: ...
    def sync(self, force: bool = False) -> None: ...
    # Keys of the main database starting with the bytes prefix.
    @staticmethod
    def count_keys(txn: _LmdbTransaction, prefix: bytes) -> int: ...
    def config(self) -> _Config: ...
    @staticmethod
    def scratch(dbpath: str) -> None: ...
    def stats(self, include_slots: bool = False) -> _Stats: ...
    # An instance of the @table class on its slot (found or allocated).
    def attach_table(self, klass: type[_M]) -> _M: ...
