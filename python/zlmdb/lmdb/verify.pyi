# Type stubs for zlmdb.lmdb.verify, the offline verifier (py-lmdb 3.0's
# lmdb.verify); see docs/lowlevel-tools.md.
import os
from typing import IO, Any, ClassVar, Final

class VerifyError(Exception): ...

MDB_MAGIC: Final[int]
NUM_METAS: Final[int]
CURSOR_STACK: Final[int]
SIZEOF_MDB_DB: Final[int]
P_INVALID: Final[int]
P_BRANCH: Final[int]
P_LEAF: Final[int]
P_OVERFLOW: Final[int]
P_META: Final[int]
P_DIRTY_09: Final[int]
P_LEAF2: Final[int]
P_SUBP: Final[int]
F_BIGDATA: Final[int]
F_SUBDATA: Final[int]
F_DUPDATA: Final[int]
MDB_REVERSEKEY: Final[int]
MDB_DUPSORT: Final[int]
MDB_INTEGERKEY: Final[int]
MDB_DUPFIXED: Final[int]
MDB_INTEGERDUP: Final[int]
MDB_REVERSEDUP: Final[int]
MDB_VALID: Final[int]
PERSISTENT_FLAGS: Final[int]
DUPSORT_ONLY_FLAGS: Final[int]

class _PageSet:
    def __init__(self, bits: bytes, n: int) -> None: ...
    def __len__(self) -> int: ...
    def __getitem__(self, pg: int) -> int: ...

class _Verifier:
    MAX_ERRORS: ClassVar[int]
    f: IO[bytes]
    filesize: int
    errors: list[str]
    info: dict[str, Any]
    psize: int
    hdrsz: int
    pagebase: int
    next_pgno: int
    live: _PageSet
    free: _PageSet
    def __init__(self, f: IO[bytes], filesize: int) -> None: ...
    def verify(self) -> list[str]: ...

def resolve_data_path(path: str | os.PathLike[str], subdir: bool | None = None) -> str: ...
def verify(path: str | os.PathLike[str], subdir: bool | None = None) -> list[str]: ...
