#!/usr/bin/env python3
"""Side-by-side benchmark runner.

    python bench/run.py                 # full: lowlevel suite, its full-mode parameters
    python bench/run.py --quick         # CI smoke: small, one repetition
    python bench/run.py --systems py-lmdb,raw-c --workloads put_seq,get_seq
    python bench/run.py --docs-only     # rewrite docs/benchmarks.md from the latest full JSON

Every (workload, system) pair runs ``--repeat`` times, each time in a fresh
child process with a fresh temp database directory; the best run (highest
ops/s) is reported.  Systems that cannot run are shown as n/a with the reason.
Exit status: 0, or 1 when a workload crashed for an available system, 2 on
bad arguments.  See bench/README.md.
"""

import argparse
import datetime
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import report  # noqa: E402

RESULTS_DIR = os.path.join(harness.BENCH_DIR, "results")
DOCS_PATH = os.path.join(harness.REPO_DIR, "docs", "benchmarks.md")


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", default="lowlevel",
                    help="suite module under bench/suites/ (available: %s)"
                         % ", ".join(harness.available_suites()))
    ap.add_argument("--quick", action="store_true",
                    help="CI smoke mode: the suite's quick parameters; never touches the docs")
    ap.add_argument("--long", action="store_true",
                    help="the suite's long mode (peers: up to 10^7 records); rewrites its own "
                         "docs section, <suite>-long")
    ap.add_argument("--systems",
                    help="comma-separated system names (default: the suite's default systems)")
    ap.add_argument("--ours", help="treat this system as ours for ratios and targets "
                                   "(e.g. an A/A noise check)")
    ap.add_argument("--workloads", help="comma-separated workload names (default: all)")
    ap.add_argument("--records", type=int, help="override the number of records")
    ap.add_argument("--repeat", type=int, help="override N in best-of-N")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                    help="override any other suite parameter (repeatable)")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds before one child run counts as crashed (default: the "
                         "mode's `timeout`, else 900)")
    ap.add_argument("--tmpdir", help="where the fresh database directories go")
    ap.add_argument("--no-docs", action="store_true",
                    help="do not rewrite docs/benchmarks.md after a full run")
    ap.add_argument("--no-chart", action="store_true", help="skip the PNG chart")
    ap.add_argument("--docs-only", action="store_true",
                    help="only rewrite docs/benchmarks.md (and the chart) from the latest "
                         "full results")
    ap.add_argument("--list", action="store_true", help="list systems and workloads, then exit")
    return ap.parse_args(argv)


def die(msg):
    sys.stderr.write("bench/run.py: %s\n" % msg)
    raise SystemExit(2)


def select(kind, requested, known):
    if not requested:
        return [x for x in known if getattr(x, "default", True)]
    names = [n.strip() for n in requested.split(",") if n.strip()]
    by_name = {x.name: x for x in known}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        die("unknown %s: %s (known: %s)" % (kind, ", ".join(unknown), ", ".join(by_name)))
    return [by_name[n] for n in names]


def coerce(value):
    try:
        return int(value)
    except ValueError:
        return value


def mode_of(args):
    return "quick" if args.quick else "long" if args.long else "full"


def run_kind(args):
    """'quick', 'full' or 'long' (that mode of the suite, untouched) or 'custom'."""
    if args.quick:
        return "quick"
    if any([args.systems, args.workloads, args.records, args.repeat, args.param, args.ours]):
        return "custom"
    return mode_of(args)


class Progress:
    """A one-line progress bar on stderr, redrawn by a thread every half
    second (a child run can take minutes) -- only when stderr is a terminal;
    otherwise, and for the per-pair result lines, plain lines."""

    def __init__(self):
        self.tty = sys.stderr.isatty()
        self.total = 0
        self.done = 0
        self.current = ""
        self.t0 = time.time()
        self._stop = None

    def start(self, total):
        self.total, self.t0 = total, time.time()
        if self.tty:
            import threading

            self._stop = threading.Event()
            threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while not self._stop.wait(0.5):
            self._draw()

    def _draw(self):
        width = 30
        frac = self.done / self.total if self.total else 1.0
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        el = int(time.time() - self.t0)
        line = "[%s] %d/%d  %d:%02d  %s" % (bar, self.done, self.total, el // 60, el % 60,
                                           self.current)
        sys.stderr.write("\r\033[K" + line[:150])
        sys.stderr.flush()

    def line(self, msg):
        if self.tty:
            sys.stderr.write("\r\033[K")
        sys.stderr.write(msg + "\n")
        if self.tty and self._stop is not None and not self._stop.is_set():
            self._draw()
        sys.stderr.flush()

    def stop(self):
        if self._stop is not None:
            self._stop.set()
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self._stop = None


PROGRESS = Progress()


def progress(msg):
    PROGRESS.line(msg)


def measure(suite, systems, workloads, params, repeat, args):
    status = {}
    for s in systems:
        reason = s.probe()
        if reason is None and suite.preflight is not None:
            reason = suite.preflight(s, params)
        status[s.name] = reason
        progress("system %-12s %s" % (s.name, "available" if reason is None else "n/a: " + reason))

    # Repetitions are interleaved across systems (rep 1 of every system, then
    # rep 2, ...) so that drift in machine load hits every system alike.
    results = []
    crashed = False
    total = sum(1 for w in workloads for s in systems if w.applies(s.name))
    PROGRESS.start(total * repeat)
    wide = max([13] + [len(w.name) for w in workloads])
    k = 0
    for w in workloads:
        live = [s for s in systems if status[s.name] is None and w.applies(s.name)]
        runs = {s.name: [] for s in live}
        failure = {}
        wall = {s.name: 0.0 for s in live}
        for _ in range(repeat):
            for s in live:
                if s.name in failure:
                    continue
                dbdir = harness.fresh_dir(args.tmpdir)
                t0 = time.time()
                PROGRESS.current = "%s / %s" % (w.name, s.name)
                try:
                    outcome, detail = harness.run_child(
                        s.command(suite, w, params, dbdir), args.timeout)
                finally:
                    harness.remove_dir(dbdir)
                    wall[s.name] += time.time() - t0
                    PROGRESS.done += 1
                if outcome == "ok":
                    runs[s.name].append(detail)
                else:
                    failure[s.name] = (outcome, detail)
        for s in systems:
            entry = {"workload": w.name, "system": s.name}
            results.append(entry)
            if not w.applies(s.name):
                # Not a gap in the data: the workload does not concern this system.
                entry.update(status="skip", reason="not applicable")
                continue
            k += 1
            head = "[%2d/%d] %-*s %-12s" % (k, total, wide, w.name, s.name)
            if status[s.name] is not None:
                entry.update(status="n/a", reason=status[s.name])
                progress(head + " n/a")
            elif s.name in failure:
                outcome, detail = failure[s.name]
                if outcome == "na":
                    entry.update(status="n/a", reason=detail)
                    progress(head + " n/a: " + detail)
                else:
                    crashed = True
                    entry.update(status="crash", reason=detail)
                    progress(head + " CRASH: " + detail)
            else:
                rs = runs[s.name]
                best = max(rs, key=lambda r: r["ops_per_sec"])
                entry.update(status="ok", ops=best["ops"], seconds=best["seconds"],
                             ops_per_sec=best["ops_per_sec"], extra=best.get("extra", {}),
                             env=best.get("env", {}),
                             runs=[{"ops": r["ops"], "seconds": r["seconds"],
                                    "ops_per_sec": r["ops_per_sec"],
                                    "native": r.get("env", {}).get("native")} for r in rs])
                progress("%s %10s ops/s  best of %d  (%.1f s)"
                         % (head, report.fmt_rate(best["ops_per_sec"]), len(rs), wall[s.name]))
    PROGRESS.stop()
    return results, status, crashed


def build_changes(results):
    """Warnings for systems whose native extension changed during the run
    (the extension is often rebuilt while a benchmark is running)."""
    seen, mixed = {}, {}
    for r in results:
        sigs = {json.dumps(run.get("native"), sort_keys=True) for run in r.get("runs", [])}
        seen.setdefault(r["system"], set()).update(sigs)
        if len(sigs) > 1:
            mixed.setdefault(r["system"], []).append(r["workload"])
    out = []
    for name, sigs in sorted(seen.items()):
        if len(sigs) > 1:
            out.append("%s: its native extension changed during this run (%d builds seen; "
                       "best-of-N mixes builds in: %s); rerun on a quiet tree"
                       % (name, len(sigs), ", ".join(mixed.get(name, [])) or "none"))
    return out


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.suite not in harness.available_suites():
        die("unknown suite %r (available: %s)" % (args.suite, ", ".join(harness.available_suites())))
    suite = harness.load_suite(args.suite)

    if args.list:
        for s in suite.systems:
            print("system   %-13s %s%s" % (s.name, s.description,
                                           "" if s.default else " [only when named]"))
        for w in suite.workloads:
            print("workload %-13s %s%s" % (w.name, w.description, "" if w.systems is None
                                           else " [%s]" % ", ".join(w.systems)))
        return 0
    if args.quick and args.long:
        die("--quick and --long exclude each other")
    mode = mode_of(args)
    if mode not in suite.modes:
        die("suite %s has no %s mode" % (suite.name, mode))
    suffix = "" if mode == "full" else "-" + mode
    if args.docs_only:
        latest = os.path.join(RESULTS_DIR, "latest-%s%s.json" % (suite.name, suffix))
        if not os.path.exists(latest):
            die("no %s yet: run the full mode first" % latest)
        with open(latest) as f:
            doc = json.load(f)
        doc["warnings"] = build_changes(doc["results"])
        err = report.write_chart(os.path.join(RESULTS_DIR, "latest-%s%s.png"
                                              % (suite.name, suffix)), suite, doc)
        if err is not None:
            progress("chart skipped (%s)" % err)
        report.update_docs(DOCS_PATH, suite, doc, suite.name + suffix)
        print("rewrote the %s section of %s" % (suite.name + suffix, DOCS_PATH))
        return 0

    kind = run_kind(args)
    params = dict(suite.modes[mode])
    if args.records is not None:
        params["records"] = args.records
    if args.repeat is not None:
        params["repeat"] = args.repeat
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep:
            die("--param wants NAME=VALUE, got %r" % item)
        params[name] = coerce(value)
    repeat = max(1, int(params.pop("repeat")))
    mode_timeout = params.pop("timeout", None)
    if args.timeout is None:
        args.timeout = float(mode_timeout or 900.0)
    systems = select("systems", args.systems, suite.systems)
    if args.ours:
        if args.ours not in [s.name for s in systems]:
            die("--ours %s is not among the selected systems" % args.ours)
        suite.ours = args.ours
    workloads = select("workloads", args.workloads, suite.workloads)
    mode_names = getattr(suite, "mode_workloads", {}).get(mode)
    if not args.workloads and mode_names:
        # The mode's list may name workloads that are off by default.
        workloads = [w for w in suite.workloads if w.name in mode_names]
    records_label = getattr(suite, "records_label", None)
    if records_label is not None and args.records is None:
        params["records"] = records_label([w.name for w in workloads])

    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.time()
    results, status, crashed = measure(suite, systems, workloads, params, repeat, args)
    wall = time.time() - t0

    doc = report.build_document(suite, kind, params, repeat, systems, workloads,
                                results, status, started, wall, args.tmpdir)
    doc["warnings"] = build_changes(results)
    for w in doc["warnings"]:
        progress("WARNING: " + w)
    print(report.render_table(suite, doc))

    os.makedirs(RESULTS_DIR, exist_ok=True)
    stamp = started.strftime("%Y%m%d-%H%M%S")
    paths = [os.path.join(RESULTS_DIR, "%s-%s-%s.json" % (suite.name, stamp, kind))]
    suffix = "" if kind == "full" else "-" + kind
    latest = os.path.join(RESULTS_DIR, "latest-%s%s.json" % (suite.name, suffix))
    paths.append(latest)
    for p in paths:
        with open(p, "w") as f:
            json.dump(doc, f, indent=2, sort_keys=False)
            f.write("\n")
    progress("wrote %s" % ", ".join(os.path.relpath(p, harness.REPO_DIR) for p in paths))
    if not args.no_chart:
        png = os.path.join(RESULTS_DIR, "latest-%s%s.png" % (suite.name, suffix))
        err = report.write_chart(png, suite, doc)
        progress("chart: %s" % (os.path.relpath(png, harness.REPO_DIR) if err is None
                                else "skipped (%s)" % err))
    if kind in ("full", "long") and not args.no_docs:
        report.update_docs(DOCS_PATH, suite, doc, suite.name + suffix)
        progress("rewrote the %s section of %s" % (suite.name + suffix,
                                                   os.path.relpath(DOCS_PATH, harness.REPO_DIR)))
    progress("total wall time %.1f s" % wall)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
