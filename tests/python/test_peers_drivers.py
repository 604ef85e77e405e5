"""The two drivers over tests/peers/peerlib.py: what each sets for its
peer's test processes, and how each reads its command line.  No download
here: small suites of their own stand in for the peers'."""
import argparse
import os
import sys
from pathlib import Path

import pytest

PEERS = Path(__file__).resolve().parents[1] / "peers"
sys.path.insert(0, str(PEERS))
import peerlib  # noqa: E402
import run_pylmdb  # noqa: E402
import run_upstream  # noqa: E402


@pytest.mark.parametrize("peer", ["pylmdb", "upstream"])
def test_the_committed_allowlists_parse(peer):
    allow = peerlib.read_allowlist(PEERS / f"{peer}-allowlist.txt")
    assert all(reason for reason in allow.values())


def test_pylmdb_runs_us_through_the_shim_on_both_engines():
    h = run_pylmdb.PyLmdb()
    ours, peer = h.env("0.9", ours=True), h.env("1.0", ours=False)
    assert ours["PYTHONPATH"].split(os.pathsep) == [str(PEERS / "shim"), str(PEERS)]
    assert "LMDB_DEFAULT_LIB_VERSION" not in ours
    assert peer["PYTHONPATH"] == str(PEERS) and peer["LMDB_DEFAULT_LIB_VERSION"] == "1"
    assert h.reference_name("1.0") == f"pylmdb-{h.version}-1.0"


UPSTREAM_CONFTEST = '''
import pytest

@pytest.fixture
def lib_version():
    return "from tests/conftest.py"
'''

UPSTREAM_TEST = '''
import os
import _helper                 # beside this file: found through pythonpath = orm

def test_settings(lib_version):
    assert lib_version == "from tests/conftest.py"
    assert os.environ["ZLMDB_TEST_LIB_VERSION"] == "0.9" and os.environ["QUICK"] == "1"
    assert os.environ.get("ZLMDB_RUN_MULTIWRITER_STRESS") == _helper.STRESS
'''


@pytest.mark.parametrize("stress", [False, True])
def test_upstream_runs_a_file_as_its_ci_does(tmp_path, monkeypatch, stress):
    tests = tmp_path / "tests"
    (tests / "orm").mkdir(parents=True)
    (tests / "conftest.py").write_text(UPSTREAM_CONFTEST)
    (tests / "orm" / "test_x.py").write_text(UPSTREAM_TEST)
    (tests / "orm" / "_helper.py").write_text(f"STRESS = {'1' if stress else None!r}\n")
    (tests / "pytest.ini").write_text(run_upstream.PYTEST_INI)
    monkeypatch.setenv("QUICK", "0")                  # ours never leak into a run
    h = run_upstream.Upstream()
    h.args = argparse.Namespace(stress=stress)
    res = peerlib.run_file(sys.executable, tests, h.file_arg("test_x.py"), h.env("0.9", True),
                           tmp_path / "work", test_timeout=60)
    assert {t: o.outcome for t, o in res.tests.items()} == {"orm/test_x.py::test_settings":
                                                            "passed"}, res
    assert h.reference_name("1.0").endswith("-1.0-stress" if stress else "-1.0")


def test_upstream_names_what_stops_it(tmp_path, monkeypatch, capsys):
    (tmp_path / "peers.lock").write_text("upstream.version = 1\n")
    monkeypatch.setattr(peerlib, "HERE", tmp_path)
    assert run_upstream.main([]) == 2
    assert "compat-upstream: error: peers.lock lacks upstream.wheel, upstream.wheel_sha256" \
        in capsys.readouterr().err


def test_each_driver_takes_its_own_switch(capsys):
    with pytest.raises(SystemExit):
        run_upstream.main(["--engine", "0.9"])
    assert "unrecognized arguments: --engine" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run_pylmdb.main(["--format", "0.9"])
    assert "unrecognized arguments: --format" in capsys.readouterr().err
