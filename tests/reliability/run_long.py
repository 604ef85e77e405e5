#!/usr/bin/env python3
"""Long forms of the reliability systems (docs/reliability.md).

    python tests/reliability/run_long.py [--quick] [--only kill,bank,...]
                                         [--json build/reliability.json]

Runs each system with large counts, prints a table, writes a JSON summary,
and exits 1 if any system reported a failure (crash, hang, lost commit,
broken invariant, leak).  Every failure is listed in the JSON.
"""
import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402
import concurrency  # noqa: E402
import corrupt  # noqa: E402
import c_table_crash  # noqa: E402
import crash_kill  # noqa: E402
import orm_faults  # noqa: E402
import orm_hostile  # noqa: E402
import hostile  # noqa: E402
import leak  # noqa: E402

SYSTEMS = ["kill", "kill_nosync", "bank", "readers", "fork", "fsm", "random", "corrupt", "leak",
           "orm_kill", "orm_kill_growth", "orm_kill_nosync", "orm_hostile", "orm_faults",
           "c_kill", "c_kill10", "c_kill_nosync"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(SYSTEMS), help="comma list of: " + ",".join(SYSTEMS))
    ap.add_argument("--quick", action="store_true", help="short counts (a smoke run)")
    ap.add_argument("--kills", type=int, default=300)
    ap.add_argument("--kills-nosync", type=int, default=100)
    ap.add_argument("--bank-seconds", type=float, default=120)
    ap.add_argument("--bank-writers", type=int, default=3)
    ap.add_argument("--bank-readers", type=int, default=3)
    ap.add_argument("--bank-threads", type=int, default=4)
    ap.add_argument("--fork-rounds", type=int, default=20)
    ap.add_argument("--fsm-seeds", type=int, default=6)
    ap.add_argument("--fsm-examples", type=int, default=300)
    ap.add_argument("--fsm-steps", type=int, default=60)
    ap.add_argument("--random-seeds", type=int, default=200)
    ap.add_argument("--random-calls", type=int, default=5000)
    ap.add_argument("--random-avoid-known", action="store_true",
                    help="steer the random driver around the known set_mapsize crash "
                         "(to look for new ones)")
    ap.add_argument("--corrupt-per-kind", type=int, default=100)
    ap.add_argument("--leak-iterations", type=int, default=100000)
    ap.add_argument("--orm-kills", type=int, default=300)
    ap.add_argument("--orm-kills-growth", type=int, default=100)
    ap.add_argument("--orm-kills-nosync", type=int, default=100)
    ap.add_argument("--c-kills", type=int, default=300,
                    help="kill -9 rounds of the C-API writer, per engine (durable)")
    ap.add_argument("--c-kills-nosync", type=int, default=100)
    ap.add_argument("--orm-hostile-seeds", type=int, default=200)
    ap.add_argument("--orm-hostile-steps", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--json", default="build/reliability/long.json")
    ap.add_argument("--workdir", default=None)
    a = ap.parse_args()
    if a.quick:
        a.kills, a.kills_nosync, a.bank_seconds, a.fork_rounds = 20, 8, 6, 2
        a.fsm_seeds, a.fsm_examples, a.random_seeds, a.random_calls = 1, 50, 5, 3000
        a.corrupt_per_kind, a.leak_iterations = 3, 20000
        a.orm_kills, a.orm_kills_growth, a.orm_kills_nosync = 12, 6, 4
        a.orm_hostile_seeds, a.orm_hostile_steps = 4, 1500
        a.c_kills, a.c_kills_nosync = 12, 4
    only = [s for s in a.only.split(",") if s]
    work = a.workdir or tempfile.mkdtemp(prefix="zlmdb-reliability-")
    summary = {"started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
               "python": sys.version.split()[0], "machine": platform.machine(),
               "asan": H.under_asan(), "args": vars(a), "systems": {}}
    rows = []

    def log(msg):
        print("  " + msg, flush=True)

    def run(name, fn):
        if name not in only:
            return
        print("== %s" % name, flush=True)
        d = os.path.join(work, name)
        os.makedirs(d, exist_ok=True)
        t0 = time.monotonic()
        res = fn(d)
        res["seconds"] = round(time.monotonic() - t0, 1)
        summary["systems"][name] = res
        rows.append((name, res))
        status = "FAIL (%d)" % len(res["failures"]) if res["failures"] else "ok"
        print("   %s in %.0fs" % (status, res["seconds"]), flush=True)
        for f in res["failures"][:5]:
            print("   - " + f.splitlines()[0][:300], flush=True)
        shutil.rmtree(d, ignore_errors=True)

    run("kill", lambda d: crash_kill.campaign(d, a.kills, True, True, a.seed,
                                              log=log if a.kills <= 50 else None))
    run("kill_nosync", lambda d: crash_kill.campaign(d, a.kills_nosync, False, False, a.seed + 1))
    run("bank", lambda d: concurrency.bank(d, a.bank_seconds, a.bank_writers, a.bank_readers,
                                           a.bank_threads, seed=a.seed, margin=180))
    run("readers", lambda d: concurrency.readers_reclaim(d, holders=8))

    def forks(d):
        out = {"rounds": 0, "failures": []}
        for i in range(a.fork_rounds):
            for v in ("exit", "drop", "close"):
                os.makedirs(os.path.join(d, str(i)), exist_ok=True)
                r = concurrency.fork_mid_txn(os.path.join(d, str(i)), v)
                out["rounds"] += 1
                out["failures"] += r["failures"]
        return out
    run("fork", forks)
    run("fsm", lambda d: hostile.fsm_campaign(range(a.seed, a.seed + a.fsm_seeds),
                                              a.fsm_examples, a.fsm_steps, timeout=1800))
    run("random", lambda d: hostile.random_campaign(range(a.seed, a.seed + a.random_seeds),
                                                    a.random_calls, timeout=300,
                                                    avoid_known=a.random_avoid_known))
    run("corrupt", lambda d: corrupt.campaign(d, a.corrupt_per_kind, seed=a.seed))
    run("leak", lambda d: leak.rss_check(d, a.leak_iterations, timeout=3600))

    def orm_kill(kills, sync, growth, seed):
        return lambda d: crash_kill.campaign(d, kills, sync=sync, metasync=sync, seed=seed,
                                             script="orm_crash.py",
                                             flags=[int(sync), int(growth)], strong=sync)
    run("orm_kill", orm_kill(a.orm_kills, True, False, a.seed + 2))
    run("orm_kill_growth", orm_kill(a.orm_kills_growth, True, True, a.seed + 3))
    run("orm_kill_nosync", orm_kill(a.orm_kills_nosync, False, False, a.seed + 4))
    run("orm_hostile", lambda d: orm_hostile.campaign(
        range(a.seed, a.seed + a.orm_hostile_seeds), a.orm_hostile_steps))
    run("orm_faults", lambda d: orm_faults.campaign(d))

    def c_kill(kills, sync, libver, seed):
        def go(d):
            c_table_crash.ensure_binary()
            return crash_kill.campaign(d, kills, sync=sync, metasync=sync, seed=seed,
                                       script="c_table_crash.py", flags=[int(sync), libver],
                                       strong=sync)
        return go
    run("c_kill", c_kill(a.c_kills, True, 9, a.seed + 5))
    run("c_kill10", c_kill(a.c_kills, True, 10, a.seed + 6))
    run("c_kill_nosync", c_kill(a.c_kills_nosync, False, 9, a.seed + 7))

    summary["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(summary, f, indent=1, default=str)
    print_table(rows)
    print("JSON summary: %s" % a.json)
    sys.exit(1 if any(r["failures"] for _, r in rows) else 0)


def figures(name, r):
    if name == "orm_hostile":
        return "sequences %d, steps %d, committed txns %d, model/index checks %d" % (
            r["sequences"], r["steps"], r["commits"], r["checks"])
    if name == "orm_faults":
        return ("allocation faults injected %d (ops refused at commit %d, SystemError %d); "
                "map full: %s; disk full: %d commits kept" % (
                    r["alloc_failed_ops"], r["alloc_refused_commits"], r["alloc_system_errors"],
                    ", ".join("%d commits kept" % n for n in r["mapfull_committed"]),
                    r["diskfull_committed"]))
    if name.startswith("kill") or name.startswith("orm_kill") or name.startswith("c_kill"):
        return "kills %d, acked commits %d, final txn %d verified, lost %d" % (
            r["kills"], r["acked_total"], r["final_marker"], r["lost_commits"])
    if name == "bank":
        return "%gs: writer commits %s, read txns verified %d" % (
            r["seconds_budget"] if "seconds_budget" in r else r.get("seconds"),
            r["writer_commits"], r["read_txns"])
    if name == "readers":
        return "holders killed %d, slots cleared %s" % (r["holders"], r.get("cleared"))
    if name == "fork":
        return "fork rounds %d" % r["rounds"]
    if name == "fsm":
        return "state-machine sequences %d" % r["sequences"]
    if name == "random":
        return "sequences %d, calls %d, crash seeds %s, hang seeds %s" % (
            r["sequences"], r["calls"], r["crash_seeds"][:10], r["hang_seeds"][:10])
    if name == "corrupt":
        parts = []
        for kind, v in sorted(r["kinds"].items()):
            z, p = v.get("zlmdb", {}), v.get("pylmdb", {})
            parts.append("%s z:%d/%d p:%d/%d" % (kind, z.get("tried", 0) - z.get("crash", 0)
                                                 - z.get("other", 0), z.get("tried", 0),
                                                 p.get("tried", 0) - p.get("crash", 0)
                                                 - p.get("other", 0), p.get("tried", 0)))
        return "; ".join(parts)
    if name == "leak":
        return "%d iterations, RSS after warm-up %s, final %s, growth %s" % (
            r["iterations"], r.get("rss_after_warmup"), r.get("rss_final"), r.get("growth"))
    return ""


def print_table(rows):
    print()
    print("%-12s %-8s %7s  %s" % ("system", "status", "secs", "figures"))
    print("-" * 100)
    for name, r in rows:
        st = "FAIL" if r["failures"] else "ok"
        print("%-12s %-8s %7.0f  %s" % (name, st, r["seconds"], figures(name, r)))
    for name, r in rows:
        if name == "corrupt":
            print()
            print("corruption pass rate (no crash / tried), zlmdb vs py-lmdb; outcomes:")
            for kind, v in sorted(r["kinds"].items()):
                for impl in ("zlmdb", "pylmdb"):
                    x = v.get(impl)
                    if x:
                        print("  %-13s %-7s tried %4d ok %4d lmdb-error %4d other %3d crash %3d  %s" % (
                            kind, impl, x["tried"], x["ok"], x["lmdb_error"], x["other"], x["crash"],
                            dict(sorted(x["outcomes"].items()))))


if __name__ == "__main__":
    main()
