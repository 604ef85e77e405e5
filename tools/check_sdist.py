#!/usr/bin/env python3
"""Install the sdist from dist/ with no network, and use what it built.

    tools/check_sdist.py [--python 3.11]

The build tools the sdist asks for (scikit-build-core, and cmake and ninja
should it ask for them) are downloaded first into a local wheelhouse, with
click, the one run-time dependency.  Then, in a fresh virtualenv, `pip
install --no-index` builds the sdist in a network namespace of its own
(`unshare -n`: no interface but loopback), with an empty LMDB download
cache, so the only LMDB it can find is the archive inside the sdist.  The
installed package then opens a database on each LMDB engine, and the ORM
writes and reads one record.  Needs root for the namespace.
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dist  # noqa: E402

ROOT = dist.ROOT
SMOKE = r"""
import os, sys, tempfile, uuid
import zlmdb, zlmdb.lmdb as lmdb
assert os.path.realpath(zlmdb.__file__).startswith(os.path.realpath(sys.prefix)), zlmdb.__file__
d = tempfile.mkdtemp()
for lib in ("0.9", "1.0"):
    env = lmdb.open(os.path.join(d, lib), lib_version=lib)
    with env.begin(write=True) as txn:
        txn.put(b"k", b"v")
    with env.begin() as txn:
        assert txn.get(b"k") == b"v"
    print("lmdb", env.lib_version(), "ok")
    env.close()

users = zlmdb.MapUuidCbor(1)
db = zlmdb.Database(os.path.join(d, "orm"))
k = uuid.uuid4()
with db.begin(write=True) as txn:
    users[txn, k] = {"name": "ada"}
with db.begin() as txn:
    assert users[txn, k] == {"name": "ada"}
print("orm ok, format", db.lib_version, "zlmdb", zlmdb.__version__)
db.close()
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--python", default="3.11")
    args = ap.parse_args()
    found = glob.glob(os.path.join(ROOT, "dist", "zlmdb-*.tar.gz"))
    if len(found) != 1:
        dist.fail("dist/ holds %d sdists; run `make dist` first." % len(found))
    sdist = found[0]
    if os.geteuid() != 0 or not shutil.which("unshare"):
        dist.fail("the offline check runs pip in a network namespace (unshare -n), which "
                  "needs root and util-linux's unshare.")
    work = os.path.join(ROOT, "build", "sdist-check")
    if os.path.isdir(work):
        shutil.rmtree(work)
    wheelhouse = os.path.join(work, "wheelhouse")
    python = dist.pyenv_python(args.python)
    dist.run([python, "-m", "pip", "download", "-q", "--only-binary", ":all:", "-d",
              wheelhouse, "scikit-build-core>=0.10", "cmake>=3.21", "ninja", "click>=8.1.3"])
    venv = os.path.join(work, "venv")
    dist.run([python, "-m", "venv", venv])
    py = os.path.join(venv, "bin", "python")
    with tempfile.TemporaryDirectory(dir=work) as empty_cache:
        env = dict(os.environ, ZLMDB_DEPS_CACHE=empty_cache, PIP_DISABLE_PIP_VERSION_CHECK="1")
        env.pop("PYTHONPATH", None)
        dist.run(["unshare", "-n", py, "-m", "pip", "install", "-q", "--no-index",
                  "--find-links", wheelhouse, sdist], env=env)
        if os.listdir(empty_cache):
            dist.fail("the build put %s into the LMDB download cache: it did not use the "
                      "archive inside the sdist." % os.listdir(empty_cache))
    dist.run(["unshare", "-n", py, "-c", SMOKE], cwd=work)
    print("sdist ok: %s installs with no network (LMDB from the archive inside it)"
          % os.path.basename(sdist))
    return 0


if __name__ == "__main__":
    sys.exit(main())
