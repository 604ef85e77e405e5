"""Every stored crash input under corpus/ must now be handled without a crash."""
import os

import pytest

import _harness as H

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
ENV_DIRS = sorted(d for d in os.listdir(CORPUS) if os.path.isfile(os.path.join(CORPUS, d, "data.mdb")))


@pytest.mark.parametrize("name", ENV_DIRS)
def test_corpus_environment_opens_and_scans_without_crash(tmp_path, name):
    import shutil
    d = str(tmp_path / name)
    shutil.copytree(os.path.join(CORPUS, name), d)  # the probe may create lock.mdb
    res = H.run_script("corrupt.py", ["probe", "zlmdb", d], timeout=120)
    assert res.crash is None, res.describe()
    info = res.json()
    assert info is not None and not info["outcome"].startswith("other:"), res.describe()
