"""Short form of system 4: open + full read of damaged environments."""
import pytest

import corrupt

PER_KIND = 4


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("corrupt"))


_results = {}


def _run(workdir, kind):
    if kind not in _results:
        _results[kind] = corrupt.campaign(workdir, PER_KIND, seed=1, kinds=[kind])
    return _results[kind]


@pytest.mark.parametrize("kind", sorted(corrupt.KINDS))
def test_corrupt_file_never_crashes_zlmdb(workdir, kind):
    """Acceptable: success or a zlmdb.lmdb.Error subclass.  A signal death,
    a sanitizer report, a hang or a non-lmdb exception fails."""
    out = _run(workdir, kind)
    assert not out["failures"], "\n".join(out["failures"])
    assert out["kinds"][kind]["zlmdb"]["tried"] == PER_KIND


@pytest.mark.parametrize("kind", sorted(corrupt.KINDS))
def test_corrupt_file_zlmdb_no_worse_than_pylmdb(workdir, kind):
    """Regression guard: zlmdb crashes on no input that py-lmdb survives."""
    out = _run(workdir, kind)
    z = {(c["case"]) for c in out["crashes"] if c["impl"] == "zlmdb"}
    p = {(c["case"]) for c in out["crashes"] if c["impl"] == "pylmdb"}
    assert z <= p, [c for c in out["crashes"] if c["impl"] == "zlmdb" and c["case"] not in p]
