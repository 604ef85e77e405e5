"""Profile only the timed loop of one benchmark child with ``perf record``.

    python bench/perf_loop.py [--perf-args "-F 15000"] [--out perf.data] -- \\
        --suite orm --workload cbor_get_100k --module zlmdb --dir /tmp/fresh --seed 42

Everything after ``--`` is bench/child.py's command line.  perf starts with
its events off; the suites' ``harness.Clock`` switches them on when the timed
block is entered and off when it is left, through perf's control FIFO, so
data generation, pre-population and checks stay out of the profile.  Then
``perf report -i OUT --no-children --sort dso,sym`` shows where the loop's
time goes (symbols of the extension come from the unstripped copy under
``build/``: ``perf buildid-cache -a build/*/_native*.so``).
"""

import argparse
import os
import runpy
import shlex
import subprocess
import sys
import tempfile

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))


def _child(ctl, ack, argv):
    """Runs inside perf: bench/child.py with Clock switching perf on and off."""
    sys.path.insert(0, BENCH_DIR)
    import harness

    def command(word):
        with open(ctl, "w") as f:
            f.write(word + "\n")
        with open(ack) as f:
            f.read(5)

    enter, leave = harness.Clock.__enter__, harness.Clock.__exit__

    def clock_enter(self):
        result = enter(self)
        command("enable")
        return result

    def clock_exit(self, *exc):
        command("disable")
        return leave(self, *exc)

    harness.Clock.__enter__, harness.Clock.__exit__ = clock_enter, clock_exit
    sys.argv = [os.path.join(BENCH_DIR, "child.py")] + argv
    runpy.run_path(sys.argv[0], run_name="__main__")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--inside":
        _child(sys.argv[2], sys.argv[3], sys.argv[4:])
        return 0
    if "--" not in sys.argv:
        raise SystemExit(__doc__)
    cut = sys.argv.index("--")
    ap = argparse.ArgumentParser(description="perf record of a benchmark's timed loop")
    ap.add_argument("--perf-args", default="-F 15000", help="extra perf record arguments")
    ap.add_argument("--out", default="perf.data", help="perf's output file")
    opts = ap.parse_args(sys.argv[1:cut])
    with tempfile.TemporaryDirectory() as tmp:
        ctl, ack = os.path.join(tmp, "ctl"), os.path.join(tmp, "ack")
        os.mkfifo(ctl)
        os.mkfifo(ack)
        cmd = (["perf", "record", "-q", "-D", "-1", "--control", "fifo:%s,%s" % (ctl, ack),
                "-o", opts.out] + shlex.split(opts.perf_args) +
               [sys.executable, os.path.abspath(__file__), "--inside", ctl, ack] +
               sys.argv[cut + 1:])
        return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main())
