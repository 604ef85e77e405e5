"""tests/peers/run_upstream.py, the harness behind `make compat-upstream`:
what it counts as a regression, and how it reads a test process that fails,
crashes or hangs.  No download here: a small suite of its own stands in for
upstream's."""
import importlib.util
import pathlib
import sys

import pytest

PEERS = pathlib.Path(__file__).resolve().parents[1] / "peers"
_spec = importlib.util.spec_from_file_location("run_upstream", PEERS / "run_upstream.py")
ru = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ru)


def test_the_lock_pins_upstreams_wheel_by_sha256():
    pins = ru.read_lock()
    assert pins["wheel"].startswith("zlmdb-%s-" % pins["version"])
    assert pins["wheel"].endswith(".whl")
    assert len(pins["wheel_sha256"]) == 64 and int(pins["wheel_sha256"], 16) >= 0


def test_the_committed_allowlist_parses():
    assert all(reason for _p, reason in ru.read_allowlist())


def test_an_allowlist_entry_needs_a_reason(tmp_path, monkeypatch):
    (tmp_path / "upstream-allowlist.txt").write_text(
        "# comment\n\norm/test_a.py::test_x  # reads upstream's private _cache\n"
        "orm/test_b.py::*\n")
    monkeypatch.setattr(ru, "HERE", tmp_path)
    with pytest.raises(ru.HarnessError, match=r":4: orm/test_b.py::\* has no reason"):
        ru.read_allowlist()


def test_what_counts_as_a_regression():
    ref = {"test_a.py": {"a::ok": ["passed", ""], "a::fails": ["passed", ""],
                         "a::crashes": ["passed", ""], "a::skips": ["passed", ""],
                         "a::gone": ["passed", ""], "a::allowed": ["passed", ""],
                         "a::up_skips": ["skipped", "needs X"], "a::up_fails": ["failed", "e"]}}
    ours = {"test_a.py": {"a::ok": ["passed", ""], "a::fails": ["failed", "E assert 1"],
                          "a::crashes": ["crashed", "died"], "a::skips": ["skipped", "no"],
                          "a::allowed": ["failed", "private"], "a::up_skips": ["skipped", ""],
                          "a::up_fails": ["failed", "e"]}}
    used = set()
    rows = ru.compare(ours, ref, [("a::allow*", "inspects a private detail")], used)
    r = rows["test_a.py"]
    assert r["kept"] == 1
    assert [(t, got) for t, got, _m in r["regressions"]] == [
        ("a::crashes", "crashed"), ("a::fails", "failed"), ("a::gone", "not run"),
        ("a::skips", "skipped")]
    assert r["allowed"] == ["a::allowed"] and used == {"a::allow*"}
    assert (r["up_passed"], r["up_skipped"]) == (6, 1)
    assert (r["passed"], r["failed"], r["crashed"], r["skipped"]) == (1, 3, 1, 2)


SUITE = '''
import os, time, pytest

def test_passes():
    assert os.environ["ZLMDB_TEST_LIB_VERSION"] == "0.9" and os.environ["QUICK"] == "1"

def test_fails():
    assert 1 == 2

@pytest.fixture
def broken():
    raise RuntimeError("fixture broke")

def test_errors(broken):
    pass

def test_skips():
    pytest.skip("not here")

def test_{last}():
    {body}

def test_never_reached():
    pass
'''


def run(tmp_path, last, body, timeout=60):
    tests = tmp_path / "tests"
    (tests / "orm").mkdir(parents=True)
    (tests / "orm" / "test_x.py").write_text(SUITE.format(last=last, body=body))
    return ru.run_file(sys.executable, tests, "test_x.py", "0.9", tmp_path / "logs", timeout,
                       stress=False)


def test_a_file_run_reports_every_outcome_and_the_crash(tmp_path):
    res = run(tmp_path, "dies", "os._exit(7)")
    outcome = {test.split("::")[-1]: o for test, (o, _m) in res.items()}
    assert outcome == {"test_passes": "passed", "test_fails": "failed",
                       "test_errors": "error", "test_skips": "skipped", "test_dies": "crashed"}
    assert "status 7" in res["orm/test_x.py::test_dies"][1]
    assert res["orm/test_x.py::test_fails"][1] == "assert 1 == 2"
    assert res["orm/test_x.py::test_skips"][1] == "not here"


def test_a_file_that_hangs_is_ended(tmp_path):
    res = run(tmp_path, "hangs", "time.sleep(600)", timeout=10)
    assert res["orm/test_x.py::test_hangs"][0] == "timeout"
    assert "orm/test_x.py::test_never_reached" not in res


def test_a_file_that_cannot_be_imported_is_an_error(tmp_path):
    res = run(tmp_path, "x", "pass\nimport no_such_module_here")
    assert list(res) == ["orm/test_x.py"]
    outcome, msg = res["orm/test_x.py"]
    assert outcome == "error" and msg.startswith("collection: ")
    assert "no_such_module_here" in msg


def test_the_harness_tells_what_stops_it(tmp_path, monkeypatch, capsys):
    (tmp_path / "peers.lock").write_text("upstream.version = 1\n")
    monkeypatch.setattr(ru, "HERE", tmp_path)
    assert ru.main([]) == 2
    assert "peers.lock lacks upstream.wheel, upstream.wheel_sha256" in capsys.readouterr().err
