"""The harness that runs the peers' own test suites (tests/peers/).

Its verdicts are only as good as its handling of the hard cases, so these
run it on a small synthetic test file: a test that passes, fails, skips,
kills its process, hangs, and forks without ending its child.
"""
import os
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
    path.write_text("# comment\n\nf.py::t  inspects lmdb.cffi internals\n")
    assert peerlib.read_allowlist(path) == {"f.py::t": "inspects lmdb.cffi internals"}
    path.write_text("f.py::t\n")
    with pytest.raises(peerlib.HarnessError, match="has no reason"):
        peerlib.read_allowlist(path)


def test_lock_is_read_and_pins_the_sdist():
    pins = peerlib.read_lock()
    assert pins["pylmdb.version"] == "3.0.0"
    assert len(pins["pylmdb.sdist_sha256"]) == 64


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
