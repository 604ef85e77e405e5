"""System 1 through libzlmdb's C API: kill -9 during indexed table writes.

The writer and the verifier are one C program, c_table_crash.c (its header
says what a transaction writes and what the verifier requires); this script
puts it into crash_kill.campaign's child protocol.  As a child it replaces
itself with the program (exec), so the campaign's SIGKILL lands on the C
writer itself.

Modes (the campaign's flags): SYNC (1: durable commits; 0: MDB_NOSYNC and
MDB_NOMETASYNC, which only promise a consistent prefix) and LIBVER (9: the
LMDB 0.9 engine, 10: LMDB 1.0).

Usage as a child:  c_table_crash.py writer PATH SYNC LIBVER SEED
                   c_table_crash.py verify PATH SYNC LIBVER LAST_ACKED STRONG
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
#: Where `make test-c` builds it; ZLMDB_C_TABLE_CRASH names another build.
DEFAULT_BINARY = os.path.join(ROOT, "build", "c", "tests", "c", "c_table_crash")


def binary_path():
    return os.environ.get("ZLMDB_C_TABLE_CRASH") or DEFAULT_BINARY


def ensure_binary():
    """Build the program with the repository's CMake project when it is not
    there yet (once, in the parent, before any child runs); return its path."""
    path = binary_path()
    if os.path.exists(path):
        return path
    if path != DEFAULT_BINARY:
        raise FileNotFoundError("ZLMDB_C_TABLE_CRASH=%s does not exist" % path)
    bindir = os.path.dirname(sys.executable)
    cmake = os.path.join(bindir, "cmake")
    cmake = cmake if os.path.exists(cmake) else "cmake"
    build = os.path.join(ROOT, "build", "c")
    if not os.path.exists(os.path.join(build, "CMakeCache.txt")):
        gen = []
        ninja = os.path.join(bindir, "ninja")
        if os.path.exists(ninja):
            gen = ["-G", "Ninja", "-DCMAKE_MAKE_PROGRAM=" + ninja]
        subprocess.run([cmake, "-S", ROOT, "-B", build] + gen, check=True,
                       stdout=subprocess.DEVNULL)
    subprocess.run([cmake, "--build", build, "--target", "c_table_crash"], check=True,
                   stdout=subprocess.DEVNULL)
    return path


if __name__ == "__main__":
    prog = binary_path()
    os.execv(prog, [prog] + sys.argv[1:])
