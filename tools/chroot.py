#!/usr/bin/env python3
"""A Debian chroot for the interpreters this machine's own Debian lacks.

The product promises CPython 3.14 and PyPy 3.11; on the build machines
(Debian 12) they come from newer Debian releases, installed with
`debootstrap` into a folder of the project (build/chroot-<suite>/ by
default) and run there with the source tree bind-mounted.

    tools/chroot.py ensure SUITE DIR --packages a,b,c
        create DIR with debootstrap (minbase) unless it is already there,
        then install any of the packages it lacks
    tools/chroot.py release DIR
        unmount whatever is still mounted inside DIR (`make clean` runs it
        before deleting build/, where the chroots live)
    tools/chroot.py run DIR [--bind HOST:INSIDE]... -- COMMAND...
        run COMMAND inside DIR as root, with /proc, /dev and each bind
        mounted for the duration, the network of the host, and a clean
        environment (HOME=/root, a standard PATH, LANG=C.UTF-8; PIP_CERT and
        SSL_CERT_FILE name a copy of the host's certificate authorities)

Needs root (debootstrap, chroot and mount do).  Debian's packages come
from deb.debian.org, PyPI from pypi.org, as on the host.  Exit status is
the command's; a failure of the tool itself says what to do.
"""
import argparse
import fcntl
import os
import shutil
import subprocess
import sys

MIRROR = "http://deb.debian.org/debian"
STAMP = ".zlmdb-chroot"
SCRIPTS = "/usr/share/debootstrap/scripts"


def fail(msg):
    sys.stderr.write("tools/chroot.py: %s\n" % msg)
    sys.exit(2)


def need_root():
    if os.geteuid() != 0:
        fail("debootstrap, chroot and mount need root; run as root (or with sudo).")


def apt_install_host(package):
    if shutil.which(package):
        return
    print("tools/chroot.py: installing Debian's %s on the host" % package, flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdin=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True, env=env,
                   stdin=subprocess.DEVNULL)


def clean_env():
    ca = {"PIP_CERT": INSIDE_CA, "SSL_CERT_FILE": INSIDE_CA} if os.path.exists(HOST_CA) else {}
    return {**ca, "HOME": "/root", "LANG": "C.UTF-8", "TERM": "dumb",
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "DEBIAN_FRONTEND": "noninteractive", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "CI": os.environ.get("CI", "")}


def mounts_below(root):
    """Mount points inside `root` (deepest first), from /proc/self/mountinfo."""
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8") as fp:
        for line in fp:
            point = line.split()[4].replace("\\040", " ")
            if point.startswith(root.rstrip("/") + "/"):
                found.append(point)
    return sorted(set(found), key=len, reverse=True)


def release(root):
    """Undo every mount inside `root`: those a killed run left behind would
    otherwise make a later `rm -r` of the chroot delete the host's /dev or
    the bind-mounted checkout through them."""
    for point in mounts_below(root):
        subprocess.run(["umount", "--recursive", "--lazy", point], stderr=subprocess.DEVNULL)
    left = mounts_below(root)
    if left:
        fail("could not unmount %s; remove nothing under %s until they are gone."
             % (", ".join(left), root))


class Mounts:
    """/proc, /dev and the binds mounted inside the chroot, undone on exit.

    Several runs may share one chroot at once (each with its own binds):
    every run holds a shared lock on LOCK in the chroot, and only a run that
    can take it exclusively, i.e. the only one, unmounts what a killed
    earlier run left behind.  Each run mounts its own /proc and /dev over
    any already there and unmounts the top one at exit, so the others keep
    theirs."""

    LOCK = ".zlmdb-chroot.lock"

    def __init__(self, root, binds):
        self.root = root
        self.binds = [("proc", "/proc", ["-t", "proc"]), ("/dev", "/dev", ["--rbind"])]
        self.binds += [(host, inside, ["--bind"]) for host, inside in binds]
        self.done = []
        self.lock = None

    def __enter__(self):
        self.lock = open(os.path.join(self.root, self.LOCK), "a")
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            release(self.root)      # alone: what a killed earlier run left mounted
        except BlockingIOError:
            pass                    # other runs are inside: their mounts stay
        fcntl.flock(self.lock, fcntl.LOCK_SH)
        try:
            for src, inside, opts in self.binds:
                target = os.path.join(self.root, inside.lstrip("/"))
                os.makedirs(target, exist_ok=True)
                subprocess.run(["mount"] + opts + [src, target], check=True)
                self.done.append(target)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for target in reversed(self.done):
            # --lazy: a process the command left behind must not keep the
            # host's tree mounted into a folder someone may later delete.
            subprocess.run(["umount", "--recursive", "--lazy", target])
        self.done = []
        if self.lock is not None:
            self.lock.close()       # drops the shared lock
            self.lock = None


HOST_CA = "/etc/ssl/certs/ca-certificates.crt"
INSIDE_CA = "/etc/zlmdb-host-ca.crt"


def run_inside(root, command, binds=(), quiet=False, capture=False):
    """Run `command` in the chroot: its exit status, or with `capture` the
    pair (status, stdout text)."""
    shutil.copyfile("/etc/resolv.conf", os.path.join(root, "etc/resolv.conf"))
    # The host's certificate authorities, which may include a proxy's that
    # the chroot's own bundle lacks (pip inside uses it through PIP_CERT).
    if os.path.exists(HOST_CA):
        shutil.copyfile(HOST_CA, os.path.join(root, INSIDE_CA.lstrip("/")))
    out = subprocess.PIPE if capture else subprocess.DEVNULL if quiet else None
    with Mounts(root, binds):
        res = subprocess.run(["chroot", root] + list(command), env=clean_env(), text=True,
                             stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.DEVNULL if quiet or capture else None)
    return (res.returncode, res.stdout) if capture else res.returncode


def ensure(suite, root, packages):
    need_root()
    stamp = os.path.join(root, STAMP)
    if not os.path.exists(stamp):
        apt_install_host("debootstrap")
        if os.path.exists(root):
            release(root)
            shutil.rmtree(root)  # a half-made chroot: start again
        print("tools/chroot.py: debootstrap %s into %s" % (suite, root), flush=True)
        cmd = ["debootstrap", "--variant=minbase", "--include=" + ",".join(packages),
               suite, root, MIRROR]
        if not os.path.exists(os.path.join(SCRIPTS, suite)):
            # A suite newer than the host's debootstrap: every Debian suite
            # since buster is bootstrapped as sid is.
            cmd.append(os.path.join(SCRIPTS, "sid"))
        res = subprocess.run(cmd,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        if res.returncode != 0:
            fail("debootstrap %s failed:\n%s\nWhat to do: check that %s is reachable, "
                 "and that every package named exists in %s." % (suite, res.stdout[-3000:],
                                                                MIRROR, suite))
        with open(stamp, "w", encoding="utf-8") as fp:
            fp.write(suite + "\n")
        return
    with open(stamp, encoding="utf-8") as fp:
        made = fp.read().strip()
    if made != suite:
        fail("%s holds a %s chroot, not %s; remove it or name another folder." % (root, made,
                                                                                  suite))
    # One query for all: a package dpkg has never heard of is left out of its
    # output (and counts as missing), one known but removed lacks "ii".
    _, listed = run_inside(root, ["dpkg-query", "-W", "-f", "${Package} ${db:Status-Abbrev}\\n"]
                           + list(packages), capture=True)
    installed = {line.split()[0] for line in listed.splitlines()
                 if len(line.split()) > 1 and line.split()[1] == "ii"}
    missing = [p for p in packages if p not in installed]
    if missing:
        print("tools/chroot.py: installing %s in %s" % (" ".join(missing), root), flush=True)
        if run_inside(root, ["sh", "-c", "apt-get update -qq && apt-get install -y -qq "
                             + " ".join(missing)]) != 0:
            fail("apt-get could not install %s in %s." % (" ".join(missing), root))


def parse_bind(text):
    host, sep, inside = text.partition(":")
    if not sep or not inside.startswith("/"):
        raise argparse.ArgumentTypeError("--bind wants HOST:/INSIDE, got %r" % text)
    return os.path.abspath(host), inside


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("ensure", help="create or complete a chroot")
    e.add_argument("suite")
    e.add_argument("dir")
    e.add_argument("--packages", default="", help="comma-separated Debian packages")
    rel = sub.add_parser("release", help="unmount everything inside a folder")
    rel.add_argument("dir")
    r = sub.add_parser("run", help="run a command in a chroot")
    r.add_argument("dir")
    r.add_argument("--bind", action="append", default=[], type=parse_bind)
    argv = sys.argv[1:]
    command = []
    if "--" in argv:
        at = argv.index("--")
        argv, command = argv[:at], argv[at + 1:]
    args = ap.parse_args(argv)
    root = os.path.abspath(args.dir)
    if args.cmd == "ensure":
        ensure(args.suite, root, [p for p in args.packages.split(",") if p])
        return 0
    if args.cmd == "release":
        if mounts_below(root):
            need_root()
            release(root)
        return 0
    need_root()
    if not os.path.exists(os.path.join(root, STAMP)):
        fail("%s is not a chroot made by this tool; run 'ensure' first." % root)
    if not command:
        fail("run: no command given (put it after --).")
    return run_inside(root, command, args.bind)


if __name__ == "__main__":
    sys.exit(main())
