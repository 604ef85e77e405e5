"""The LMDB fetch step of the build stops with a useful message when the
pinned archive is wrong, missing or does not patch."""
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "cmake" / "fetch_lmdb.py"
LOCK = ROOT / "cmake" / "lmdb.lock"
PATCHES = ROOT / "cmake" / "lmdb-patches.txt"


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


def run(tmp_path, lock=LOCK, patches=PATCHES, cache=None):
    cache = cache or seeded_cache(tmp_path)
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--lock", str(lock), "--patches", str(patches),
         "--cache", str(cache), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300)


def test_pinned_archive_prepares_patched_lmdb(tmp_path):
    res = run(tmp_path)
    assert res.returncode == 0, res.stderr
    out = tmp_path / "out"
    for f in ("mdb.c", "midl.c", "midl.h", "lmdb.h", "LICENSE"):
        assert (out / f).exists(), f
    header = (out / "lmdb.h").read_text(encoding="latin-1")
    assert "mdb_env_copy3" in header          # the patches were applied
    assert "#define MDB_VERSION_PATCH\t35" in header
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
    names = [n for n in PATCHES.read_text().splitlines() if n and not n.startswith("#")]
    # Applying a later patch first breaks its context: the step must fail.
    swapped = tmp_path / "patches.txt"
    swapped.write_text("\n".join([names[-1]] + names[:-1] + [names[-1]]) + "\n")
    res = run(tmp_path, patches=swapped)
    assert res.returncode != 0
    assert "did not apply" in res.stderr
    missing = tmp_path / "missing.txt"
    missing.write_text("no-such-patch\n")
    res = run(tmp_path, patches=missing)
    assert res.returncode != 0 and "not in the archive" in res.stderr
