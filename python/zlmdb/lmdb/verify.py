"""Offline verification of LMDB data files: ``zlmdb.lmdb.verify``.

The API of py-lmdb 3.0's ``lmdb.verify``: ``verify(path, subdir=None)``
returns a list of problems (empty when the file is sound) and raises
``VerifyError`` when nothing can be verified, for example because the file
is not an LMDB data file.  The work is done in C by libzlmdb
(``zlmdb_verify_fd()``), which reads the file's bytes and never hands it to
LMDB, so the file may come from a source you do not trust.

It checks both meta pages and which one is committed, walks every tree from
the committed roots (the free database, the main database, named databases,
duplicate sub-pages and sub-databases, LEAF2 and overflow pages), checks the
bounds of every page and node, the key order and each database's counters,
that no page is marked dirty at rest, and that the free pages and the
reachable pages are disjoint and together cover the file.  Files of LMDB 0.9
(data format 1) and LMDB 1.0 (data format 3) from 64-bit builds of this
host's byte order are understood; others raise ``VerifyError``.

A passed check is about the file as it was read: verify a private copy that
no untrusted writer can change afterwards, and discard a lock file that came
with it.  See docs/lowlevel-tools.md.
"""
import os
import platform

if platform.python_implementation() == "PyPy":
    from zlmdb._cffi import verify as _native   # the same verify() through CFFI
else:
    from zlmdb import _native


class VerifyError(Exception):
    """Verification could not begin: not an LMDB data file, a layout this
    verifier does not handle (32-bit, other byte order), or unreadable meta
    pages.  Problems found in a file that could be walked are returned by
    :func:`verify`, not raised."""


# The on-disk constants py-lmdb's module names (the same in both formats).
MDB_MAGIC = 0xBEEFC0DE
NUM_METAS = 2
CURSOR_STACK = 32
SIZEOF_MDB_DB = 48
P_INVALID = (1 << 64) - 1

P_BRANCH = 0x01
P_LEAF = 0x02
P_OVERFLOW = 0x04
P_META = 0x08
P_DIRTY_09 = 0x10
P_LEAF2 = 0x20
P_SUBP = 0x40

F_BIGDATA = 0x01
F_SUBDATA = 0x02
F_DUPDATA = 0x04

MDB_REVERSEKEY = 0x02
MDB_DUPSORT = 0x04
MDB_INTEGERKEY = 0x08
MDB_DUPFIXED = 0x10
MDB_INTEGERDUP = 0x20
MDB_REVERSEDUP = 0x40
MDB_VALID = 0x8000
PERSISTENT_FLAGS = 0xFFFF & ~MDB_VALID
DUPSORT_ONLY_FLAGS = MDB_DUPFIXED | MDB_INTEGERDUP | MDB_REVERSEDUP

class _PageSet:
    """Which pages, from 0 to the last in use, belong to a set: ``s[pg]``
    is 1 or 0 (a view of a bitmap the verifier returned)."""

    __slots__ = ("_bits", "_n")

    def __init__(self, bits, n):
        self._bits = bits
        self._n = n

    def __len__(self):
        return self._n

    def __getitem__(self, pg):
        if pg < 0:
            pg += self._n
        if not 0 <= pg < self._n:
            raise IndexError("page %d is beyond the last page in use" % pg)
        return (self._bits[pg >> 3] >> (pg & 7)) & 1


class _Verifier:
    """One verification of an open binary file (py-lmdb's private class,
    kept for code that drives it directly).

    ``verify()`` returns the problems; afterwards ``psize``, ``hdrsz``,
    ``pagebase``, ``next_pgno`` and ``info`` describe the file, and
    ``live[pg]`` / ``free[pg]`` say whether page ``pg`` was reached from a
    root or is listed as free."""

    MAX_ERRORS = 200

    def __init__(self, f, filesize):
        self.f = f
        self.filesize = filesize
        self.errors = []

    def verify(self):
        try:
            source = self.f.fileno()
        except (AttributeError, OSError, ValueError):
            source = None      # an in-memory file: hand over its bytes
        if source is None:
            self.f.seek(0)
            source = self.f.read(self.filesize)
            size = 0
        else:
            size = self.filesize if self.filesize > 0 else 0
            if self.filesize <= 0:     # an empty file: verify zero bytes
                source = b""
        message, errors, info, pages = _native.verify(
            source, file_size=size, max_problems=self.MAX_ERRORS, pages=True)
        if message is not None:
            raise VerifyError(message)
        self.errors = errors
        self.info = info
        self.psize = info["page_size"]
        self.hdrsz = info["page_header_size"]
        self.pagebase = 0 if info["lib_version"] == "0.9" else self.hdrsz
        self.next_pgno = info["last_pgno"] + 1
        self.live = _PageSet(pages[0], self.next_pgno)
        self.free = _PageSet(pages[1], self.next_pgno)
        return self.errors


def resolve_data_path(path, subdir=None):
    """The path of the data file of environment ``path``.

    With ``subdir`` None, a directory is an environment directory (its
    ``data.mdb``), anything else the data file itself (an environment
    opened with ``subdir=False``)."""
    if subdir is None:
        subdir = os.path.isdir(path)
    if subdir:
        return os.path.join(path, "data.mdb")
    return path


def verify(path, subdir=None):
    """Verify the data file of environment ``path`` without opening it
    through LMDB.

    ``path`` and ``subdir`` are read as by :func:`resolve_data_path`.
    Returns the problems found, as sentences naming the database, page and
    node (at most 200, then a line saying the rest were left out); an empty
    list means the file passed every check.  Raises :class:`VerifyError`
    when verification cannot begin, and OSError when the file cannot be
    read."""
    data_path = resolve_data_path(path, subdir)
    with open(data_path, "rb") as f:
        f.seek(0, os.SEEK_END)
        filesize = f.tell()
        return _Verifier(f, filesize).verify()
