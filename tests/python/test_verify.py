"""zlmdb.lmdb.verify and ``python -m zlmdb.lmdb verify``: py-lmdb 3.0's offline
verifier, done in C.

The reference is py-lmdb 3.0.0 itself, run in a child interpreter
(pylmdb3_env.py): it writes the files of both formats (LMDB 0.9.36 and
1.0.2), and its pure-Python
``lmdb.verify`` and ``python -m lmdb verify`` are run on the same files,
sound and forged, and must answer exactly as ours do.
"""
import inspect
import json
import os
import random
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import zlmdb.lmdb as lmdb
from conftest import IS_PYPY

if IS_PYPY:
    from zlmdb._cffi import verify as _native   # the same verify() through CFFI
else:
    from zlmdb import _native
from zlmdb.lmdb import verify as V
from conftest import DEFAULT_LIB_VERSION
from pylmdb3_env import clean_env, pylmdb3_python, run_pylmdb3

HERE = Path(__file__).resolve().parent
DATA = HERE / "verify_data"
SCENARIOS = ["empty", "plain", "deletions", "overflow", "dupsort", "dupfixed", "keys",
             "named", "freelist_overflow", "writemap", "single"]
MAGIC = 0xBEEFC0DE


def _path(root, name, tag):
    if name == "single":
        return str(root / ("single-%s.mdb" % tag))
    return str(root / ("%s-%s" % (name, tag)))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Every scenario written by LMDB 0.9.36 and 1.0.2 (py-lmdb 3.0) and by
    zlmdb.lmdb's own LMDB: {(scenario, "0.9" | "1.0" | "zlmdb"): path}."""
    root = tmp_path_factory.mktemp("verify-files")
    run_pylmdb3(DATA / "make_files.py", root)
    subprocess.run([sys.executable, str(DATA / "make_files.py"), "--zlmdb", str(root)],
                   check=True, capture_output=True)
    return {(n, t): _path(root, n, t) for n in SCENARIOS for t in ("0.9", "1.0", "zlmdb")}


def reference(paths):
    """py-lmdb 3.0's verify over `paths`: {path: {"errors": [...]} or
    {"verify_error": msg} or {"os_error": class name}}."""
    listing = Path(paths[0]).parent / "reference-list.txt"
    listing.write_text("\n".join(paths))
    proc = run_pylmdb3(DATA / "reference_verify.py", listing)
    return json.loads(proc.stdout)


def ours(path):
    try:
        return {"errors": V.verify(path)}
    except V.VerifyError as exc:
        return {"verify_error": str(exc)}
    except OSError as exc:
        return {"os_error": type(exc).__name__}


# ------------------------------------------------------------------ the API

def test_public_api_is_pylmdb3_s():
    probe = ("import inspect, json\nfrom lmdb import verify as V\n"
             "out = {}\n"
             "for n in sorted(dir(V)):\n"
             "    o = getattr(V, n)\n"
             "    if n.startswith('_') or inspect.ismodule(o): continue\n"
             "    out[n] = str(inspect.signature(o)) if inspect.isfunction(o) else \\\n"
             "        ('class(%s)' % o.__base__.__name__ if inspect.isclass(o) else repr(o))\n"
             "print(json.dumps(out))")
    theirs = json.loads(run_pylmdb3(["-c", probe]).stdout)
    mine = {}
    for name in sorted(dir(V)):
        obj = getattr(V, name)
        if name.startswith("_") or inspect.ismodule(obj):
            continue
        mine[name] = (str(inspect.signature(obj)) if inspect.isfunction(obj) else
                      "class(%s)" % obj.__base__.__name__ if inspect.isclass(obj) else repr(obj))
    assert mine == theirs


def test_verify_error_is_a_plain_exception_not_an_lmdb_error():
    assert issubclass(V.VerifyError, Exception)
    assert not issubclass(V.VerifyError, lmdb.Error)


def test_resolve_data_path(tmp_path):
    assert V.resolve_data_path(str(tmp_path)) == str(tmp_path / "data.mdb")
    assert V.resolve_data_path(str(tmp_path), subdir=False) == str(tmp_path)
    assert V.resolve_data_path("x.mdb") == "x.mdb"
    assert V.resolve_data_path("x", subdir=True) == os.path.join("x", "data.mdb")


# ------------------------------------------------------------------ sound files

@pytest.mark.parametrize("tag", ["0.9", "1.0", "zlmdb"])
@pytest.mark.parametrize("name", SCENARIOS)
def test_files_written_by_lmdb_pass(files, name, tag):
    path = files[name, tag]
    assert V.verify(path, subdir=False if name == "single" else None) == []


def test_both_formats_are_told_apart(files):
    # "zlmdb" is written by zlmdb.lmdb with its default engine.
    for tag, hdrsz in (("0.9", 16), ("1.0", 24), ("zlmdb", (16, 24)[DEFAULT_LIB_VERSION])):
        path = V.resolve_data_path(files["plain", tag])
        with open(path, "rb") as f:
            v = V._Verifier(f, os.path.getsize(path))
            assert v.verify() == []
        assert v.hdrsz == hdrsz and v.pagebase == (0 if hdrsz == 16 else 24)
        assert v.info["lib_version"] == ("1.0" if hdrsz == 24 else "0.9")
        assert v.info["data_version"] == (3 if hdrsz == 24 else 1)
        assert v.info["complete"] is True


def test_garbage_in_free_pages_and_past_the_end_passes(files, tmp_path):
    for tag in ("0.9", "1.0"):
        env = tmp_path / tag
        shutil.copytree(files["deletions", tag], env)
        data = env / "data.mdb"
        with open(data, "rb") as f:
            v = V._Verifier(f, data.stat().st_size)
            assert v.verify() == []
        free = [pg for pg in range(2, v.next_pgno) if v.free[pg]]
        live = [pg for pg in range(2, v.next_pgno) if v.live[pg]]
        assert free and live and not set(free) & set(live)
        assert len(free) + len(live) == v.next_pgno - 2
        with open(data, "r+b") as f:
            for pg in free:
                f.seek(pg * v.psize)
                f.write(b"\xff" * v.psize)
            f.seek(0, os.SEEK_END)
            f.write(b"\xa5" * 3 * v.psize)
        assert V.verify(str(env)) == []


def test_in_memory_files_are_verified_from_their_bytes(files):
    import io
    path = V.resolve_data_path(files["dupsort", "1.0"])
    raw = open(path, "rb").read()
    assert V._Verifier(io.BytesIO(raw), len(raw)).verify() == []
    message, problems, info, pages = _native.verify(raw)
    assert message is None and problems == [] and pages is None
    assert info["page_size"] == 4096 and info["last_pgno"] < len(raw) // 4096


# ------------------------------------------------------------------ forged files

def _forge(raw, rng):
    """Damage a data file image the ways a hostile file would: header and
    node bytes, database records in the meta pages, counts and page numbers,
    a cut-off end."""
    hdrsz = 24 if struct.unpack_from("<I", raw, 24)[0] == MAGIC else 16
    psize = struct.unpack_from("<I", raw, hdrsz + 24)[0]
    npages = len(raw) // psize
    for _ in range(rng.choice([1, 1, 2, 3])):
        pg, k = rng.randrange(npages), rng.random()
        if k < 0.4:
            raw[pg * psize + rng.randrange(64)] = rng.randrange(256)
        elif k < 0.7:
            raw[pg * psize + rng.randrange(psize)] = rng.randrange(256)
        elif k < 0.85:
            at = rng.randrange(2) * psize + hdrsz + 24 + rng.randrange(112)
            raw[at] = rng.choice([0, 1, 2, 0xFF, rng.randrange(256)])
        elif k < 0.9 and npages > 3:
            del raw[rng.randrange(2, npages) * psize:]
            npages = len(raw) // psize
        else:
            at, width = pg * psize + rng.randrange(psize - 8), rng.choice([2, 8])
            value = rng.randrange(40) if rng.random() < 0.5 else rng.randrange(1 << (8 * width))
            raw[at:at + width] = value.to_bytes(width, "little")
    return raw


def test_forged_files_get_pylmdb3_s_exact_answers(files, tmp_path):
    """Differential: 300 forged copies of files of both formats; ours and
    py-lmdb 3.0's verifier must return the same problems in the same order
    (or both refuse with the same message)."""
    rng = random.Random(20261201)
    bases = [files[n, t] for n in ("plain", "deletions", "overflow", "dupsort", "dupfixed",
                                   "keys", "named") for t in ("0.9", "1.0")]
    paths = []
    for i in range(300):
        raw = bytearray(open(V.resolve_data_path(rng.choice(bases)), "rb").read())
        env = tmp_path / ("f%03d" % i)
        env.mkdir()
        (env / "data.mdb").write_bytes(_forge(raw, rng))
        paths.append(str(env))
    theirs = reference(paths)
    differ = [p for p in paths if ours(p) != theirs[p]]
    assert not differ, "first difference, %s:\n ours   %r\n theirs %r" % (
        differ[0], ours(differ[0]), theirs[differ[0]])
    # the forgeries reach every kind of answer
    kinds = {next(iter(theirs[p])) for p in paths}
    assert kinds == {"errors", "verify_error"}
    assert sum(1 for p in paths if theirs[p].get("errors")) > 100


def test_not_lmdb_files_raise_verify_error_as_pylmdb3_does(tmp_path, files):
    cases = {"empty.mdb": b"", "text.mdb": b"hello world\n" * 100,
             "zeros.mdb": bytes(8192),
             "lock.mdb": open(files["plain", "1.0"] + "/lock.mdb", "rb").read()}
    raw = bytearray(open(files["plain", "0.9"] + "/data.mdb", "rb").read())
    struct.pack_into(">I", raw, 16, MAGIC)         # the other byte order
    cases["swapped.mdb"] = bytes(raw)
    raw = bytearray(open(files["plain", "0.9"] + "/data.mdb", "rb").read())
    struct.pack_into("<I", raw, 16 + 24, 4097)     # page size
    cases["psize.mdb"] = bytes(raw)
    paths = []
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    theirs = reference(paths)
    for path in paths:
        with pytest.raises(V.VerifyError) as info:
            V.verify(path)
        if path.endswith("swapped.mdb"):       # we name what was found
            assert "byte-swapped" in str(info.value)
            assert "verify_error" in theirs[path]
        else:
            assert theirs[path] == {"verify_error": str(info.value)}


def test_unreadable_paths_raise_os_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        V.verify(str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError):    # a directory without data.mdb
        V.verify(str(tmp_path))
    with pytest.raises(IsADirectoryError):
        V.verify(str(tmp_path), subdir=False)


def test_problem_cap_is_pylmdb3_s(tmp_path):
    env = tmp_path / "many"
    with lmdb.open(str(env), map_size=64 << 20) as e:
        with e.begin(write=True) as txn:
            for i in range(12000):
                txn.put(b"k%06d" % i, b"v" * 100)
    data = env / "data.mdb"
    raw = bytearray(data.read_bytes())
    for pg in range(2, len(raw) // 4096):      # a wrong page number everywhere
        struct.pack_into("<Q", raw, pg * 4096, 10**6 + pg)
    data.write_bytes(raw)
    problems = V.verify(str(env))
    assert len(problems) == 201 and problems[-1] == "... (further errors suppressed)"
    assert reference([str(env)])[str(env)] == {"errors": problems}


def test_native_arguments_are_checked():
    with pytest.raises(ValueError):
        _native.verify(-1)
    with pytest.raises(ValueError):
        _native.verify(b"", max_problems=-1)
    with pytest.raises(OverflowError):
        _native.verify(b"", file_size=-5)
    with pytest.raises(TypeError):
        _native.verify("a str is not bytes")
    with pytest.raises(OSError):
        _native.verify(10**6)                 # no such descriptor
    message, problems, info, pages = _native.verify(b"\0" * 100)
    assert "not an LMDB data file" in message and problems is info is pages is None


# ------------------------------------------------------------------ the command

def _tool(argv, cwd):
    return subprocess.run([sys.executable, "-m", "zlmdb.lmdb", *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def _their_tool(argv, cwd):
    return subprocess.run([pylmdb3_python(), "-E", "-s", "-m", "lmdb", *argv],
                          cwd=cwd, capture_output=True, text=True, timeout=120, env=clean_env())


def test_command_output_and_status_are_pylmdb3_s(files, tmp_path):
    forged = tmp_path / "forged"
    shutil.copytree(files["plain", "1.0"], forged)
    raw = bytearray((forged / "data.mdb").read_bytes())
    struct.pack_into("<Q", raw, 24 + 72 + 32, 7)   # main DB entries, meta 0
    struct.pack_into("<Q", raw, 4096 + 24 + 72 + 32, 7)
    (forged / "data.mdb").write_bytes(raw)
    (tmp_path / "junk.mdb").write_bytes(b"junk" * 1000)
    single = files["single", "0.9"]
    cases = [
        ["verify", files["plain", "0.9"]],
        ["verify", files["dupsort", "1.0"]],
        ["-e", files["named", "1.0"], "verify"],
        ["-s", "verify", single],
        ["-e", single, "-s", "verify"],
        ["verify", str(forged)],
        ["verify", str(tmp_path / "junk.mdb")],
        ["verify", str(tmp_path / "missing")],
        ["verify"],
    ]
    for argv in cases:
        mine, theirs = _tool(argv, tmp_path), _their_tool(argv, tmp_path)
        assert (mine.returncode, mine.stdout) == (theirs.returncode, theirs.stdout), argv
        # stderr: the same line, under our tool's name
        assert mine.stderr.replace("zlmdb.lmdb.tool: ", "lmdb.tool: ") == theirs.stderr, argv
    ok = _tool(["verify", files["plain", "1.0"]], tmp_path)
    assert ok.returncode == 0 and ok.stdout == "verify: OK\n" and ok.stderr == ""
    bad = _tool(["verify", str(forged)], tmp_path)
    assert bad.returncode == 1
    assert bad.stdout.splitlines()[0].startswith("main DB: walked 300 entries, record says 7")
    assert bad.stderr.startswith("zlmdb.lmdb.tool: verify: FAILED (")


def test_command_never_opens_the_file_with_lmdb(files, tmp_path):
    env = tmp_path / "env"
    shutil.copytree(files["plain", "1.0"], env)
    (env / "lock.mdb").unlink()
    before = sorted(os.listdir(env))
    assert _tool(["verify", str(env)], tmp_path).returncode == 0
    assert sorted(os.listdir(env)) == before      # no lock file was made
