#!/usr/bin/env python3
"""Run the test suite on every CPython the product promises, against the
installed wheels that `make dist` left in dist/.

    tools/test_pythons.py [--pythons 3.11,3.12,3.13,3.14] [--dist dist] [pytest args]

For each version: a fresh virtualenv, the wheel and its test extra
installed with `--only-binary :all:` and the C compilers disabled (CC, CXX
set to `false`), so nothing can be built and no source tree can stand in
for the wheel; then pytest on tests/python with ZLMDB_TEST_INSTALLED=1,
under which conftest.py refuses to run if `zlmdb` was imported from this
checkout.  3.11-3.13 are pyenv's interpreters; 3.14 runs in the Debian 14
(forky) chroot that tools/dist.py built its wheel in, with this checkout
bind-mounted read-write at /src.

Prints one line per Python and ends "N passed, N failed" (Pythons).
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dist  # noqa: E402  (tools/dist.py: the interpreters and the chroot)

ROOT = dist.ROOT


def wheel_for(dist_dir, version):
    tag = "cp" + version.replace(".", "")
    found = glob.glob(os.path.join(dist_dir, "zlmdb-*-%s-%s-*.whl" % (tag, tag)))
    if len(found) != 1:
        dist.fail("dist/ has %d wheels for CPython %s (%s); run `make dist` first."
                  % (len(found), version, found))
    return found[0]


def no_build_env(extra=None):
    env = dict(os.environ, CC="false", CXX="false", ZLMDB_TEST_INSTALLED="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    for var in ("PYTHONPATH", "VIRTUAL_ENV"):
        env.pop(var, None)
    env.update(extra or {})
    return env


def test_host(version, wheel, pytest_args):
    venv = os.path.join(ROOT, "build", "pythons", version)
    if os.path.isdir(venv):
        shutil.rmtree(venv)
    subprocess.run([dist.pyenv_python(version), "-m", "venv", venv], check=True,
                   stdin=subprocess.DEVNULL)
    py = os.path.join(venv, "bin", "python")
    env = no_build_env()
    res = subprocess.run([py, "-m", "pip", "install", "-q", "--only-binary", ":all:",
                          wheel + "[test]"], env=env, stdin=subprocess.DEVNULL)
    if res.returncode != 0:
        return res.returncode
    return subprocess.run([py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/python"]
                          + pytest_args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL).returncode


def test_chroot(version, wheel, pytest_args):
    root = dist.chroot_dir("forky")
    tool = os.path.join(ROOT, "tools", "chroot.py")
    subprocess.run([sys.executable, tool, "ensure", "forky", root, "--packages",
                    dist.CHROOT_PACKAGES], check=True, stdin=subprocess.DEVNULL)
    quoted = " ".join("'%s'" % a.replace("'", "'\\''") for a in pytest_args)
    script = ("set -e; rm -rf /root/test-venv; python3 -m venv /root/test-venv; "
              "export CC=false CXX=false ZLMDB_TEST_INSTALLED=1; "
              "/root/test-venv/bin/pip install -q --only-binary :all: '/src/dist/%s[test]'; "
              "cd /src && /root/test-venv/bin/python -m pytest -q -p no:cacheprovider "
              "tests/python %s" % (os.path.basename(wheel), quoted))
    return subprocess.run([sys.executable, tool, "run", root, "--bind", ROOT + ":/src", "--",
                           "sh", "-c", script], stdin=subprocess.DEVNULL).returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pythons", default="3.11,3.12,3.13,3.14")
    ap.add_argument("--dist", default=os.path.join(ROOT, "dist"))
    args, pytest_args = ap.parse_known_args()
    dist_dir = os.path.abspath(args.dist)
    if os.path.realpath(dist_dir) != os.path.realpath(os.path.join(ROOT, "dist")) and \
            "3.14" in args.pythons.split(","):
        dist.fail("--dist: the 3.14 run reads dist/ through the checkout's bind mount; "
                  "keep the default or leave 3.14 out.")
    results = []
    for version in [v for v in args.pythons.split(",") if v]:
        wheel = wheel_for(dist_dir, version)
        print("== CPython %s: %s" % (version, os.path.basename(wheel)), flush=True)
        if version == "3.14":
            rc = test_chroot(version, wheel, pytest_args)
        else:
            rc = test_host(version, wheel, pytest_args)
        results.append((version, rc))
    print()
    for version, rc in results:
        print("CPython %s: %s" % (version, "passed" if rc == 0 else "FAILED (exit %d)" % rc))
    failed = sum(1 for _, rc in results if rc != 0)
    print("%d passed, %d failed (Pythons)" % (len(results) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
