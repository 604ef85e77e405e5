"""The LMDB fetch step of the build prepares both engines from the pinned
archive, and stops with a useful message when the archive is wrong,
missing or does not patch."""
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "cmake" / "fetch_lmdb.py"
LOCK = ROOT / "cmake" / "lmdb.lock"
PATCHES = {e: ROOT / "cmake" / ("lmdb-patches-%s.txt" % e) for e in ("v09", "v10")}


def pins():
    out = {}
    for line in LOCK.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            k, _, v = line.partition("=")
            out[k.strip()] = v.strip()
    return out


def seeded_cache(tmp_path):
    """A cache dir holding the pinned archive (copied from the build cache
    when there is one, so the test does not download it again)."""
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    p = pins()
    name = "%s-%s.tar.gz" % (p["package"], p["version"])
    for candidate in (ROOT / "build" / "_deps" / name,):
        if candidate.exists():
            shutil.copy(candidate, cache / name)
    return cache


def run(tmp_path, lock=LOCK, patches=None, cache=None):
    cache = cache or seeded_cache(tmp_path)
    lists = dict(PATCHES, **(patches or {}))
    args = []
    for engine, path in lists.items():
        args += ["--patches", "%s=%s" % (engine, path)]
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--lock", str(lock)] + args +
        ["--cache", str(cache), "--out", str(tmp_path / "out"),
         "--local-patches", str(ROOT / "cmake" / "patches")],
        capture_output=True, text=True, timeout=300)


def test_pinned_archive_prepares_both_patched_engines(tmp_path):
    res = run(tmp_path)
    assert res.returncode == 0, res.stderr
    out = tmp_path / "out"
    assert (out / "LICENSE").exists()
    for engine, patch_level in (("v09", "0.9.36"), ("v10", "1.0.2")):
        for f in ("mdb.c", "midl.c", "midl.h", "lmdb.h"):
            assert (out / engine / f).exists(), (engine, f)
        header = (out / engine / "lmdb.h").read_text(encoding="latin-1")
        assert "mdb_env_copy3" in header          # the hardening patches were applied
        major, minor, patch = patch_level.split(".")
        assert "#define MDB_VERSION_MAJOR\t%s" % major in header
        assert "#define MDB_VERSION_MINOR\t%s" % minor in header
        assert "#define MDB_VERSION_PATCH\t%s" % patch in header
        # zlmdb's own patch is in as well: a leaf-page check, not an assert.
        source = (out / engine / "mdb.c").read_text(encoding="latin-1")
        assert "mdb_cassert(mc, IS_LEAF(mp))" not in source
        assert not (out / engine / "patches").exists()
    # The 1.0 engine comes with the header that renames its symbols.
    assert "mdb10_get" in (out / "v10" / "rename.h").read_text()
    assert "LMDB 0.9.36 from lmdb==3.0.0" in res.stdout
    assert "LMDB 1.0.2 from lmdb==3.0.0" in res.stdout
    # A second run is a no-op (stamp file): it prints nothing.
    again = run(tmp_path)
    assert again.returncode == 0 and again.stdout == ""


def test_wrong_hash_stops_the_build(tmp_path):
    bad = tmp_path / "bad.lock"
    bad.write_text(LOCK.read_text().replace(pins()["sha256"], "0" * 64))
    res = run(tmp_path, lock=bad)
    assert res.returncode != 0
    assert "SHA-256" in res.stderr and "Do not edit the pin" in res.stderr
    assert not (tmp_path / "out" / "mdb.c").exists()


def test_missing_archive_says_what_to_do(tmp_path):
    bad = tmp_path / "bad.lock"
    bad.write_text(LOCK.read_text().replace("version      = " + pins()["version"],
                                            "version      = 0.0.0.404"))
    res = run(tmp_path, lock=bad, cache=tmp_path / "empty")
    assert res.returncode != 0
    assert "could not download" in res.stderr
    assert "ZLMDB_LMDB_SOURCE" in res.stderr and "ZLMDB_SYSTEM_LMDB" in res.stderr


def test_failed_patch_stops_the_build(tmp_path):
    names = [n for n in PATCHES["v10"].read_text().splitlines()
             if n and not n.startswith("#")]
    # Applying a later patch first breaks its context: the step must fail.
    swapped = tmp_path / "patches.txt"
    swapped.write_text("\n".join([names[-1]] + names[:-1] + [names[-1]]) + "\n")
    res = run(tmp_path, patches={"v10": swapped})
    assert res.returncode != 0
    assert "did not apply" in res.stderr and str(swapped) in res.stderr
    missing = tmp_path / "missing.txt"
    missing.write_text("no-such-patch\n")
    res = run(tmp_path, patches={"v09": missing})
    assert res.returncode != 0 and "not in the archive" in res.stderr


def test_every_engine_needs_its_patch_list(tmp_path):
    res = subprocess.run(
        [sys.executable, str(SCRIPT), "--lock", str(LOCK),
         "--patches", "v09=%s" % PATCHES["v09"], "--cache", str(tmp_path / "c"),
         "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=60)
    assert res.returncode != 0 and "no --patches list for engine v10" in res.stderr
    res = subprocess.run(
        [sys.executable, str(SCRIPT), "--lock", str(LOCK),
         "--patches", "v11=%s" % PATCHES["v09"], "--cache", str(tmp_path / "c"),
         "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=60)
    assert res.returncode != 0 and "ENGINE one of v09, v10" in res.stderr
