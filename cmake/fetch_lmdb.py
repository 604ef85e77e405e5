#!/usr/bin/env python3
"""Fetch, verify and patch the pinned LMDB sources for the zlmdb build.

LMDB is not committed to this repository.  The pinned, reachable copy of
both LMDB release lines together with their hardening patches is py-lmdb's
source distribution on PyPI (`lib/` holds LMDB 0.9, `lib1/` LMDB 1.0), so
this script obtains that archive through the package client (never a
hard-coded URL), checks its SHA-256 against the value pinned in
`cmake/lmdb.lock`, unpacks each engine's LMDB files and applies its patches
in the order given by `cmake/lmdb-patches-<engine>.txt`, then zlmdb's own
from `cmake/patches/<engine>/`.

The result is one directory per engine (`<out>/v09`, `<out>/v10`) holding
mdb.c, midl.c, midl.h, lmdb.h (patched) and, where the archive has one, the
symbol-renaming header `rename.h`, plus the upstream license text in
`<out>/LICENSE`.  Every step is skipped when a stamp file shows it was
already done for the same pin, so rebuilds are offline.

Exit status is 0 on success; on failure a message says what went wrong and
what to do about it.
"""
import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

LMDB_FILES = ("mdb.c", "midl.c", "midl.h", "lmdb.h")
RENAME_HEADER = "rename.h"


def fail(msg):
    sys.stderr.write("\nzlmdb: cannot prepare LMDB: %s\n\n" % msg)
    sys.exit(1)


def read_lock(path):
    pins = {}
    with open(path, encoding="utf-8") as fp:
        for line in fp:
            line = line.split("#", 1)[0].strip()
            if line:
                name, _, value = line.partition("=")
                pins[name.strip()] = value.strip()
    for need in ("package", "version", "sha256"):
        if need not in pins:
            fail("%s lacks the '%s = ...' line" % (path, need))
    if not engines_of(pins):
        fail("%s names no engine ('engine.<name> = <folder> <LMDB version>')" % path)
    return pins


def engines_of(pins):
    """{name: (folder in the archive, LMDB version)} from the engine.* lines."""
    engines = {}
    for key, value in pins.items():
        if key.startswith("engine."):
            parts = value.split()
            if len(parts) != 2:
                fail("cmake/lmdb.lock: '%s = %s' must be '<folder> <LMDB version>'"
                     % (key, value))
            engines[key[len("engine."):]] = (parts[0], parts[1])
    return engines


def read_patch_list(path):
    with open(path, encoding="utf-8") as fp:
        names = [ln.split("#", 1)[0].strip() for ln in fp]
    return [n for n in names if n]


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as fp:
        for block in iter(lambda: fp.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def pip_commands():
    """Ways to run pip: this interpreter first, then whatever is on PATH.

    Inside an isolated PEP 517 build the interpreter may not see pip, while
    the pip that started the build is still on PATH.
    """
    cmds = []
    override = os.environ.get("ZLMDB_PIP")
    if override:
        cmds.append(override.split())
    cmds.append([sys.executable, "-m", "pip"])
    for name in ("pip3", "pip"):
        found = shutil.which(name)
        if found:
            cmds.append([found])
    return cmds


def clean_environment():
    """The environment for the pip subprocess.

    Inside an isolated PEP 517 build, PYTHONPATH and friends point at the
    build environment's overlay, which breaks a second pip; drop them so the
    subprocess sees the interpreter's own packages (index settings such as
    PIP_INDEX_URL are kept).
    """
    env = dict(os.environ)
    for var in ("PYTHONPATH", "PYTHONHOME", "PYTHONNOUSERSITE", "PYTHONSTARTUP",
                "PIP_BUILD_TRACKER", "PIP_REQ_TRACKER", "PEP517_BUILD_BACKEND"):
        env.pop(var, None)
    return env


def bundled_archive(pins, bundled_dir):
    """The archive a source distribution carries (`make dist` puts it in
    cmake/bundled/), or None.  It is checked like a download, and a
    mismatch is an error, not a reason to go to the network."""
    if not bundled_dir:
        return None
    archive = os.path.join(bundled_dir, "%s-%s.tar.gz" % (pins["package"], pins["version"]))
    if not os.path.exists(archive):
        return None
    digest = sha256_of(archive)
    if digest != pins["sha256"]:
        fail("%s has SHA-256 %s but cmake/lmdb.lock pins %s.\n"
             "The LMDB archive inside this source tree is not the one the release was "
             "made with. Get the source distribution again from where you found it, or "
             "delete %s to download the pinned archive instead."
             % (archive, digest, pins["sha256"], archive))
    return archive


def download(pins, cache_dir):
    archive_name = "%s-%s.tar.gz" % (pins["package"], pins["version"])
    archive = os.path.join(cache_dir, archive_name)
    if os.path.exists(archive):
        if sha256_of(archive) == pins["sha256"]:
            return archive
        os.unlink(archive)  # a damaged cache entry: fetch again below

    os.makedirs(cache_dir, exist_ok=True)
    spec = "%s==%s" % (pins["package"], pins["version"])
    errors = []
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        for cmd in pip_commands():
            # --no-binary names the one package: ":all:" would also make
            # pip build the archive's build requirements (cffi) from source
            # to read its metadata, which needs a compiler and libffi.
            full = cmd + ["download", spec, "--no-binary", pins["package"], "--no-deps",
                          "--no-build-isolation", "--quiet", "-d", tmp]
            # --no-build-isolation keeps pip from building metadata in a
            # fresh environment; fall back to the default if that fails.
            for attempt in (full, [a for a in full if a != "--no-build-isolation"]):
                try:
                    res = subprocess.run(attempt, stdin=subprocess.DEVNULL, env=clean_environment(),
                                         stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, text=True)
                except OSError as exc:
                    errors.append("%s: %s" % (" ".join(attempt), exc))
                    break
                got = os.path.join(tmp, archive_name)
                if res.returncode == 0 and os.path.exists(got):
                    digest = sha256_of(got)
                    if digest != pins["sha256"]:
                        fail("%s has SHA-256 %s but cmake/lmdb.lock pins %s.\n"
                             "The archive on the package index is not the one this "
                             "project was reviewed against. Do not edit the pin to "
                             "make the build pass: check where the file came from, "
                             "or build from a reviewed tree with "
                             "ZLMDB_LMDB_SOURCE=<dir>." % (archive_name, digest,
                                                           pins["sha256"]))
                    os.replace(got, archive)
                    return archive
                errors.append("%s\n%s" % (" ".join(attempt), res.stdout[-2000:]))
    fail("could not download %s (%s) with pip.\n%s\n"
         "What to do: check that PyPI is reachable (or a pip mirror is configured), "
         "or place %s in %s, or build from a local LMDB tree with "
         "ZLMDB_LMDB_SOURCE=<dir holding mdb.c, midl.c, lmdb.h>, or link the "
         "system library with ZLMDB_SYSTEM_LMDB=1."
         % (spec, archive_name, "\n".join(errors[-2:]), archive_name, cache_dir))


def extract(archive, pins, work):
    """Each engine's LMDB files into <work>/<engine>/ (its patches into
    <work>/<engine>/patches/), the license into <work>/LICENSE."""
    prefix = "%s-%s/" % (pins["package"], pins["version"])
    wanted = {prefix + "LICENSE": os.path.join(work, "LICENSE")}
    patch_dirs = {}
    optional = set()
    for name, (folder, _) in engines_of(pins).items():
        dest = os.path.join(work, name)
        os.makedirs(os.path.join(dest, "patches"), exist_ok=True)
        for f in LMDB_FILES:
            wanted[prefix + folder + "/" + f] = os.path.join(dest, f)
        rename = prefix + folder + "/py-lmdb/" + RENAME_HEADER
        wanted[rename] = os.path.join(dest, RENAME_HEADER)
        optional.add(rename)
        patch_dirs[prefix + folder + "/py-lmdb/"] = os.path.join(dest, "patches")
    found = set()
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            dest = wanted.get(member.name)
            if dest is None:
                head, _, base = member.name.rpartition("/")
                pdir = patch_dirs.get(head + "/")
                if pdir is None or not base.endswith(".patch"):
                    continue
                dest = os.path.join(pdir, base)
            with tar.extractfile(member) as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out)
            found.add(member.name)
    missing = [m for m in wanted if m not in found and m not in optional]
    if missing:
        fail("%s does not contain %s; the pin in cmake/lmdb.lock does not point "
             "at an sdist that carries LMDB." % (archive, ", ".join(missing)))


def apply_patches(work, list_file, patch_names, local_patches=()):
    """The archive's patches in the pinned order, then zlmdb's own."""
    patch_exe = shutil.which("patch")
    if not patch_exe:
        fail("the 'patch' program is needed to apply LMDB's hardening patches.\n"
             "What to do: install it (Debian: apt-get install patch) and build again.")
    files = []
    for name in patch_names:
        pfile = os.path.join(work, "patches", name + ".patch")
        if not os.path.exists(pfile):
            fail("patch %s listed in %s is not in the archive." % (name, list_file))
        files.append((name, pfile))
    files += [(os.path.basename(p), p) for p in local_patches]
    for name, pfile in files:
        # The patches are written against libraries/liblmdb/, hence -p3.
        res = subprocess.run([patch_exe, "--forward", "--batch", "-p3", "-d", work,
                              "-i", pfile], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if res.returncode != 0:
            fail("patch %s did not apply:\n%s\nWhat to do: the patch list in "
                 "%s must match the pinned archive; remove the "
                 "build directory and build again, or fix the list." % (name, res.stdout,
                                                                        list_file))
    shutil.rmtree(os.path.join(work, "patches"))


def check_version(work, want):
    major = minor = patch = None
    with open(os.path.join(work, "lmdb.h"), encoding="latin-1") as fp:
        for line in fp:
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "#define":
                if parts[1] == "MDB_VERSION_MAJOR":
                    major = parts[2]
                elif parts[1] == "MDB_VERSION_MINOR":
                    minor = parts[2]
                elif parts[1] == "MDB_VERSION_PATCH":
                    patch = parts[2]
    got = "%s.%s.%s" % (major, minor, patch)
    if got != want:
        fail("the archive's %s carries LMDB %s but cmake/lmdb.lock pins %s."
             % (os.path.basename(work), got, want))


def local_patch_files(root, engine):
    if not root:
        return []
    d = os.path.abspath(os.path.join(root, engine))
    if not os.path.isdir(d):
        return []
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".patch"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lock", required=True)
    ap.add_argument("--patches", action="append", default=[], metavar="ENGINE=FILE",
                    help="the patch list of one engine (give one per engine)")
    ap.add_argument("--cache", required=True, help="where the archive is kept")
    ap.add_argument("--out", help="where patched sources go (required unless --download-only)")
    ap.add_argument("--bundled", default=None,
                    help="a directory that may hold the pinned archive (a source "
                         "distribution's copy); used, after the hash check, before the cache")
    ap.add_argument("--download-only", action="store_true",
                    help="only obtain and verify the archive in --cache, print its path")
    ap.add_argument("--local-patches", default=None,
                    help="directory of zlmdb's own LMDB patches, one folder per engine, "
                         "applied last in name order")
    args = ap.parse_args()

    pins = read_lock(args.lock)
    if args.download_only:
        print(download(pins, args.cache))
        return 0
    if not args.out:
        ap.error("--out is required")
    engines = engines_of(pins)
    lists = {}
    for spec in args.patches:
        name, sep, path = spec.partition("=")
        if not sep or name not in engines:
            fail("--patches %s: expected ENGINE=FILE with ENGINE one of %s"
                 % (spec, ", ".join(sorted(engines))))
        lists[name] = (path, read_patch_list(path))
    for name in engines:
        if name not in lists:
            fail("no --patches list for engine %s" % name)
    local = {name: local_patch_files(args.local_patches, name) for name in engines}
    stamp_text = "%s %s %s\n" % (pins["package"], pins["version"], pins["sha256"])
    for name in sorted(engines):
        stamp_text += "%s %s %s\n%s\n%s\n" % (
            name, engines[name][0], engines[name][1], " ".join(lists[name][1]),
            " ".join("%s:%s" % (os.path.basename(p), sha256_of(p)) for p in local[name]))
    stamp = os.path.join(args.out, ".zlmdb-stamp")
    if os.path.exists(stamp):
        with open(stamp, encoding="utf-8") as fp:
            if fp.read() == stamp_text and all(
                    os.path.exists(os.path.join(args.out, name, f))
                    for name in engines for f in LMDB_FILES):
                return 0

    archive = bundled_archive(pins, args.bundled) or download(pins, args.cache)
    if os.path.isdir(args.out):
        shutil.rmtree(args.out)
    tmp_out = args.out + ".tmp"
    if os.path.isdir(tmp_out):
        shutil.rmtree(tmp_out)
    os.makedirs(tmp_out)
    extract(archive, pins, tmp_out)
    for name in sorted(engines):
        work = os.path.join(tmp_out, name)
        apply_patches(work, lists[name][0], lists[name][1], local[name])
        check_version(work, engines[name][1])
    with open(os.path.join(tmp_out, ".zlmdb-stamp"), "w", encoding="utf-8") as fp:
        fp.write(stamp_text)
    os.replace(tmp_out, args.out)
    for name in sorted(engines):
        print("zlmdb: LMDB %s from %s==%s (sha256 verified, %d + %d patches applied) in %s"
              % (engines[name][1], pins["package"], pins["version"], len(lists[name][1]),
                 len(local[name]), os.path.join(args.out, name)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
