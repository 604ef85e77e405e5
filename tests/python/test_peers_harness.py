"""The library under both harnesses of the peers' own test suites
(tests/peers/peerlib.py).

Its verdicts are only as good as its handling of the hard cases, so these
run it on a small synthetic test file: a test that passes, fails, skips,
kills its process, hangs, and forks without ending its child.  Then where
the peer's own results come from (cache, snapshot, measurement), and a
whole run of a made-up peer.  No download here.
"""
import datetime
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PEERS = Path(__file__).resolve().parents[1] / "peers"
sys.path.insert(0, str(PEERS))
import peerlib  # noqa: E402

SAMPLE = '''
import os, time, unittest

class T(unittest.TestCase):
    def test_a_passes(self):
        pass
    def test_b_fails(self):
        self.assertEqual(1, 2)
    def test_c_skips(self):
        self.skipTest("not here")
    def test_d_crashes(self):
        os.abort()
    def test_d_crashes_not(self):
        pass                    # its id starts with the crashing one's
    def test_e_hangs(self):
        time.sleep(120)
    def test_f_forks_and_keeps_the_child(self):
        if os.fork() == 0:
            return              # the child runs the rest of the file too
        os.wait()
    def test_g_after_all_that(self):
        pass
'''


@pytest.fixture(scope="module")
def sample_result(tmp_path_factory):
    tests_dir = tmp_path_factory.mktemp("peer_tests")
    (tests_dir / "sample_test.py").write_text(SAMPLE)
    (tests_dir / "pytest.ini").write_text("[pytest]\n")
    env = peerlib.clean_env(PYTHONPATH=str(PEERS))
    return peerlib.run_file(sys.executable, tests_dir, "sample_test.py", env,
                            tests_dir / "work", test_timeout=5)


def test_every_test_gets_its_outcome(sample_result):
    got = {nodeid.split("::")[-1]: o.outcome for nodeid, o in sample_result.tests.items()}
    assert got == {
        "test_a_passes": "passed", "test_b_fails": "failed", "test_c_skips": "skipped",
        "test_d_crashes": "crashed", "test_d_crashes_not": "passed", "test_e_hangs": "timeout",
        "test_f_forks_and_keeps_the_child": "passed", "test_g_after_all_that": "passed"}
    assert sample_result.runs == 3           # one rerun per killed process
    assert not sample_result.collect_errors and not sample_result.exit_problem


def test_messages_say_what_happened(sample_result):
    by_name = {n.split("::")[-1]: o for n, o in sample_result.tests.items()}
    assert "1 != 2" in by_name["test_b_fails"].message
    assert by_name["test_c_skips"].message == "not here"
    assert "still running after 5 s" in by_name["test_e_hangs"].message
    crash = by_name["test_d_crashes"].message
    assert crash.startswith("killed by SIGABRT in File ") and "sample_test.py" in crash


def test_a_regression_is_what_the_peer_passes_and_we_do_not():
    ours = peerlib.FileResult("f.py", {
        "f.py::ok": peerlib.Outcome("passed"), "f.py::broken": peerlib.Outcome("failed"),
        "f.py::skipped_here": peerlib.Outcome("skipped"),
        "f.py::skipped_there": peerlib.Outcome("failed"),
        "f.py::private": peerlib.Outcome("failed")})
    theirs = peerlib.FileResult("f.py", {
        "f.py::ok": peerlib.Outcome("passed"), "f.py::broken": peerlib.Outcome("passed"),
        "f.py::skipped_here": peerlib.Outcome("passed"),
        "f.py::skipped_there": peerlib.Outcome("skipped"),
        "f.py::private": peerlib.Outcome("passed"),
        "f.py::only_there": peerlib.Outcome("passed")})
    verdicts = {v.nodeid: v for v in peerlib.compare(ours, theirs, {"f.py::private": "why"})}
    assert {n for n, v in verdicts.items() if v.regression} == \
        {"f.py::broken", "f.py::skipped_here", "f.py::only_there"}
    assert verdicts["f.py::only_there"].ours.outcome == "missing"
    assert verdicts["f.py::private"].allowed == "why"


def test_a_collection_error_fails_every_test_of_the_file():
    ours = peerlib.FileResult("f.py", collect_errors=["f.py: ImportError: no verify"])
    theirs = peerlib.FileResult("f.py", {"f.py::t": peerlib.Outcome("passed")})
    (verdict,) = peerlib.compare(ours, theirs, {})
    assert verdict.regression and verdict.ours.outcome == "error"
    assert "no verify" in verdict.ours.message


def test_allowlist_needs_a_reason(tmp_path):
    path = tmp_path / "allow.txt"
    path.write_text("# comment\n\nf.py::t  inspects lmdb.cffi internals\n"
                    "g.py::T::test_*\tall of them read a private cache\n")
    assert peerlib.read_allowlist(path) == {"f.py::t": "inspects lmdb.cffi internals",
                                            "g.py::T::test_*": "all of them read a private cache"}
    path.write_text("f.py::t\n")
    with pytest.raises(peerlib.HarnessError, match=r"allow.txt:1: f.py::t has no reason"):
        peerlib.read_allowlist(path)


def test_an_allowlist_entry_is_an_exact_id_or_a_pattern():
    allow = {"f.py::t[a]": "exact, brackets and all", "g.py::*": "every test of g.py"}
    assert peerlib.allow_entry(allow, "f.py::t[a]") == "f.py::t[a]"
    assert peerlib.allow_entry(allow, "f.py::ta") == ""       # no character class
    assert peerlib.allow_entry(allow, "g.py::x::y") == "g.py::*"
    ours = peerlib.FileResult("g.py", {"g.py::x": peerlib.Outcome("failed")})
    theirs = peerlib.FileResult("g.py", {"g.py::x": peerlib.Outcome("passed")})
    (verdict,) = peerlib.compare(ours, theirs, allow)
    assert not verdict.regression
    assert (verdict.allowed, verdict.allowed_by) == ("every test of g.py", "g.py::*")


def test_the_lock_pins_both_peers():
    pins = peerlib.read_lock()
    assert pins["pylmdb.version"] == "3.0.0"
    assert len(pins["pylmdb.sdist_sha256"]) == 64
    up = peerlib.pins("upstream", "version", "wheel", "wheel_sha256")
    assert up["wheel"].startswith(f"zlmdb-{up['version']}-") and up["wheel"].endswith(".whl")
    assert len(up["wheel_sha256"]) == 64 and int(up["wheel_sha256"], 16) >= 0


def test_a_missing_pin_is_named(tmp_path):
    (tmp_path / "peers.lock").write_text("upstream.version = 1\n")
    with pytest.raises(peerlib.HarnessError,
                       match="peers.lock lacks upstream.wheel, upstream.wheel_sha256"):
        peerlib.pins("upstream", "version", "wheel", "wheel_sha256",
                     path=tmp_path / "peers.lock")


def test_shim_keeps_module_identity():
    code = textwrap.dedent("""
        import lmdb, lmdb.tool, lmdb.aio, zlmdb.lmdb
        from lmdb import aio
        assert lmdb is zlmdb.lmdb and lmdb.Error is zlmdb.lmdb.Error
        assert lmdb.tool is zlmdb.lmdb.tool and aio is zlmdb.lmdb.aio
        print("ok")
    """)
    env = dict(os.environ, PYTHONPATH=str(PEERS / "shim"))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr
    done = subprocess.run([sys.executable, "-m", "lmdb", "--help"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "zlmdb.lmdb" in done.stdout


# ------------------------------------------------- what the peer passes

HEAD = {"peer": "p", "version": "1", "sha256": "a" * 64, "recipe": 1, "setting": "engine 0.9"}


class Meter:
    """Stands in for running the peer: every test passes, each call noted."""

    def __init__(self):
        self.calls = []

    def __call__(self, files):
        self.calls.append(list(files))
        return peerlib.identity(), [
            peerlib.FileResult(f, {f"{f}::t": peerlib.Outcome("passed", "a message")})
            for f in files]


def reference(tmp_path, files, meter, refresh=False, head=HEAD):
    return peerlib.reference("p-1-0.9", head, files, meter, refresh,
                             snapshots=tmp_path / "snap", cache=tmp_path / "cache")


def test_a_reference_is_measured_once_then_cached(tmp_path):
    meter = Meter()
    got, lines = reference(tmp_path, ["a.py", "b.py"], meter)
    assert meter.calls == [["a.py", "b.py"]]
    assert got["a.py"].tests == {"a.py::t": peerlib.Outcome("passed")}
    assert lines == ["reference: measured now (2 files)"]
    assert not (tmp_path / "snap").exists()          # only --refresh-reference writes it
    got, lines = reference(tmp_path, ["a.py", "b.py"], meter)
    assert len(meter.calls) == 1 and got["b.py"].tests["b.py::t"].outcome == "passed"
    assert lines == ["reference: measured here before (2 files, build/peers/reference/)"]


def test_refresh_measures_and_records_the_snapshot(tmp_path):
    meter = Meter()
    reference(tmp_path, ["a.py"], meter)
    got, lines = reference(tmp_path, ["a.py"], meter, refresh=True)
    assert meter.calls == [["a.py"], ["a.py"]]
    assert lines == [f"reference: measured now (1 file, recorded in {tmp_path}/snap/p-1-0.9.json)"]
    snap = json.loads((tmp_path / "snap" / "p-1-0.9.json").read_text())
    me = peerlib.identity()
    assert {k: snap[k] for k in HEAD} == HEAD
    assert {k: snap[k] for k in me} == me and snap["pytest"] == pytest.__version__
    assert snap["recorded"] == datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    assert snap["files"] == {"a.py": {"a.py::t": "passed"}}     # outcomes, no messages
    assert json.loads((tmp_path / "cache" / "p-1-0.9.json").read_text()) == snap


def test_the_snapshot_serves_a_fresh_build(tmp_path):
    meter = Meter()
    reference(tmp_path, ["a.py", "b.py"], meter, refresh=True)
    shutil.rmtree(tmp_path / "cache")
    got, lines = reference(tmp_path, ["a.py", "b.py"], meter)
    assert len(meter.calls) == 1 and set(got) == {"a.py", "b.py"}
    assert lines[0].startswith(f"reference: the snapshot {tmp_path}/snap/p-1-0.9.json "
                               "(2 files, recorded ")
    assert len(lines) == 1
    # a file the snapshot lacks is measured, and the cache keeps only that
    got, lines = reference(tmp_path, ["a.py", "c.py"], meter)
    assert meter.calls[-1] == ["c.py"]
    assert "(1 file, recorded" in lines[0] and lines[0].endswith("; measured now (1 file)")
    assert set(json.loads((tmp_path / "cache" / "p-1-0.9.json").read_text())["files"]) == \
        {"c.py"}


def test_a_snapshot_from_elsewhere_is_used_and_said_so(tmp_path):
    meter = Meter()
    reference(tmp_path, ["a.py"], meter, refresh=True)
    shutil.rmtree(tmp_path / "cache")
    path = tmp_path / "snap" / "p-1-0.9.json"
    snap = json.loads(path.read_text())
    path.write_text(json.dumps(dict(snap, python="3.99.0", platform="plan9-mips")))
    got, lines = reference(tmp_path, ["a.py"], meter)
    assert len(meter.calls) == 1 and got["a.py"].tests["a.py::t"].outcome == "passed"
    assert len(lines) == 2
    assert lines[1].startswith("note: the snapshot was recorded on CPython 3.99.0, plan9-mips, "
                               f"this is CPython {sys.version.split()[0]}, ")


def test_a_snapshot_of_another_pin_is_not_used(tmp_path):
    meter = Meter()
    reference(tmp_path, ["a.py"], meter, refresh=True)
    shutil.rmtree(tmp_path / "cache")
    got, lines = reference(tmp_path, ["a.py"], meter, head=dict(HEAD, sha256="b" * 64))
    assert len(meter.calls) == 2
    assert lines == ["reference: measured now (1 file)",
                     f"note: the snapshot {tmp_path}/snap/p-1-0.9.json is for another pin or "
                     "recipe; --refresh-reference records a new one"]
    got, lines = reference(tmp_path, ["a.py"], meter, head=dict(HEAD, recipe=2))
    assert len(meter.calls) == 3


# ------------------------------------------------------- a whole run

FAKE_SUITE = '''
import datetime
import json
import os
import shutil

def test_same():
    pass

def test_only_the_peer_passes():
    assert os.environ["WHO"] == "peer"

def test_neither():
    assert False
'''


class Fake(peerlib.Harness):
    peer, title, switch, settings = "fake", "fake", "mode", ("x",)

    def __init__(self, root):
        self.root, self.measured = root, 0

    def prepare(self):
        tests = self.root / "fake-1" / "tests"
        tests.mkdir(parents=True, exist_ok=True)
        (tests / "a_test.py").write_text(FAKE_SUITE)
        (tests / "pytest.ini").write_text("[pytest]\n")
        self.version, self.sha256 = "1", "c" * 64
        return tests, ["a_test.py"]

    def heading(self, setting):
        return f"fake's tests, mode {setting}"

    def env(self, setting, ours):
        return peerlib.clean_env(PYTHONPATH=str(PEERS), WHO="us" if ours else "peer")

    def peer_python(self):
        self.measured += 1
        return sys.executable


@pytest.fixture
def fake(tmp_path, monkeypatch):
    monkeypatch.setattr(peerlib, "HERE", tmp_path)
    monkeypatch.setattr(peerlib, "BUILD", tmp_path / "build")
    monkeypatch.setattr(peerlib, "SNAPSHOTS", tmp_path / "reference")
    return Fake(tmp_path)


def test_a_run_reports_regressions_and_records_the_reference(fake, tmp_path, capsys):
    assert peerlib.main(fake, ["--refresh-reference"]) == 1
    out = capsys.readouterr().out
    assert "== fake's tests, mode x\nreference: measured now (1 file, recorded in " in out
    assert "\nregressions:\n  a_test.py::test_only_the_peer_passes: failed: " in out
    assert "test_neither" not in out                  # the peer fails it too
    assert out.endswith("\ncompat-fake: 1 passed, 1 failed\n")
    snap = json.loads((tmp_path / "reference" / "fake-1-x.json").read_text())
    assert snap["files"]["a_test.py"] == {"a_test.py::test_neither": "failed",
                                          "a_test.py::test_only_the_peer_passes": "passed",
                                          "a_test.py::test_same": "passed"}
    assert snap["setting"] == "mode x" and fake.measured == 1

    shutil.rmtree(tmp_path / "build")                 # a fresh clone: the snapshot serves
    assert peerlib.main(fake, ["-v"]) == 1
    out = capsys.readouterr().out
    assert "reference: the snapshot " in out and fake.measured == 1
    assert "(not counted) a_test.py::test_neither: failed on us, failed on fake" in out


def test_the_allowlist_forgives_and_must_not_go_stale(fake, tmp_path, capsys):
    allow = tmp_path / "fake-allowlist.txt"
    allow.write_text("a_test.py::test_only_the_peer_*  reads a private detail\n")
    assert peerlib.main(fake, []) == 0
    out = capsys.readouterr().out
    assert out.endswith("\ncompat-fake: 1 passed, 0 failed\n")
    assert "|    0       1" in out                     # no regression, one allowed
    allow.write_text(allow.read_text() + "a_test.py::test_gone  no longer there\n")
    assert peerlib.main(fake, []) == 2
    err = capsys.readouterr().err
    assert "compat-fake: error: fake-allowlist.txt entries that match no failing test " \
           "(remove them): a_test.py::test_gone" in err
    assert peerlib.main(fake, ["a_test.py"]) == 0      # a partial run cannot tell


def test_an_unknown_file_stops_the_run(fake, capsys):
    assert peerlib.main(fake, ["nope_test.py"]) == 2
    assert "no such test file in fake 1: nope_test.py" in capsys.readouterr().err


def test_a_damaged_snapshot_stops_the_run_until_refreshed(tmp_path):
    meter = Meter()
    reference(tmp_path, ["a.py"], meter, refresh=True)
    path = tmp_path / "snap" / "p-1-0.9.json"
    path.write_text(json.dumps({"sha256": "a" * 64, "files": {}}))
    with pytest.raises(peerlib.HarnessError, match=r"p-1-0.9.json is not a reference this "
                       r"harness wrote \(it lacks recipe, implementation, python, platform, "
                       r"recorded\); restore it with git"):
        reference(tmp_path, ["a.py"], meter)
    (tmp_path / "cache" / "p-1-0.9.json").write_text("{not json")    # just measured again
    got, _lines = reference(tmp_path, ["a.py"], meter, refresh=True)
    assert len(meter.calls) == 2 and json.loads(path.read_text())["files"] == \
        {"a.py": {"a.py::t": "passed"}}
