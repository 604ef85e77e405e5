"""Shrink a failing hostile.py random-driver run to a minimal list of steps.

    python tests/reliability/minimize.py SEED CALLS [--hang]

Runs the driver with RELI_SKIP (steps to skip) and keeps a skip set as long
as the child still crashes (a signal or sanitizer report; with --hang: still
times out).  Prints the surviving steps' trace (RELI_TRACE=1), which is the
reproducer.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402


def fails(seed, calls, keep, hang, timeout):
    skip = ",".join(str(i) for i in range(calls) if i not in keep)
    res = H.run_script("hostile.py", ["random", seed, calls], timeout=timeout,
                       env_extra={"RELI_SKIP": skip})
    if hang:
        return res.timed_out
    return res.crash is not None and not res.timed_out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("seed", type=int)
    ap.add_argument("calls", type=int)
    ap.add_argument("--hang", action="store_true")
    ap.add_argument("--timeout", type=float, default=20)
    a = ap.parse_args()
    steps = list(range(a.calls))
    if not fails(a.seed, a.calls, set(steps), a.hang, a.timeout):
        sys.exit("does not fail as given")
    # the shortest failing prefix
    lo, hi = 1, a.calls
    while lo < hi:
        mid = (lo + hi) // 2
        if fails(a.seed, a.calls, set(range(mid)), a.hang, a.timeout):
            hi = mid
        else:
            lo = mid + 1
    steps = list(range(hi))
    # ddmin-style chunk removal
    n = 2
    while len(steps) >= 2:
        chunk = max(1, len(steps) // n)
        removed = False
        for i in range(0, len(steps), chunk):
            cand = steps[:i] + steps[i + chunk:]
            if cand and fails(a.seed, a.calls, set(cand), a.hang, a.timeout):
                steps = cand
                n = max(n - 1, 2)
                removed = True
                print("  %d steps" % len(steps), flush=True)
                break
        if not removed:
            if chunk == 1:
                break
            n = min(len(steps), n * 2)
    print("minimal steps:", steps)
    skip = ",".join(str(i) for i in range(a.calls) if i not in set(steps))
    res = H.run_script("hostile.py", ["random", a.seed, a.calls],
                       timeout=a.timeout, env_extra={"RELI_SKIP": skip, "RELI_TRACE": "1"})
    print(res.stderr[-6000:])


if __name__ == "__main__":
    main()
