"""System 1: kill -9 crash safety.

A writer child commits numbered transactions n = 1, 2, ...  Transaction n writes
  b"marker"                 -> b"%d" % n          (the commit marker)
  b"slot/%02d/%d" % (n % SLOTS, j) for j < WIDTH -> value(n, j)   (overwrites)
  b"log/%010d" % n          -> value(n, 99)       (append)
and deletes b"log/%010d" % (n - KEEP), so every record's content is derivable
from the marker: a partially applied transaction is visible as a mismatch.
After commit() returns the writer prints n to stdout (a pipe): "acknowledged".
The parent SIGKILLs it after a random delay, then a fresh verifier process
opens the environment and checks it (see verify()).

Usage as a child:  crash_kill.py writer ENV SYNC METASYNC SEED
                   crash_kill.py verify ENV SYNC METASYNC LAST_ACKED STRONG
"""
import hashlib
import os
import random
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402

SLOTS = 16
WIDTH = 4
KEEP = 40
MAP_SIZE = 64 << 20


def value(n, j):
    """Deterministic content of record j written by transaction n; some are
    large enough to live on overflow pages."""
    size = (n * 131 + j * 17) % 700 + 8
    if j == 0 and n % 5 == 0:
        size += 5000
    seed = hashlib.sha256(b"%d/%d" % (n, j)).digest()
    return (seed * (size // 32 + 1))[:size]


def open_env(lmdb, path, sync, metasync):
    return lmdb.open(path, map_size=MAP_SIZE, sync=sync, metasync=metasync)


def writer(path, sync, metasync, seed):
    lmdb = H.import_impl("zlmdb")
    rnd = random.Random(seed)
    env = open_env(lmdb, path, sync, metasync)
    with env.begin() as txn:
        m = txn.get(b"marker")
    n = int(m) if m is not None else 0
    os.write(1, b"R %d\n" % n)
    while True:
        n += 1
        txn = env.begin(write=True)
        for j in range(WIDTH):
            txn.put(b"slot/%02d/%d" % (n % SLOTS, j), value(n, j))
        txn.put(b"log/%010d" % n, value(n, 99))
        if n > KEEP:
            txn.delete(b"log/%010d" % (n - KEEP))
        if rnd.random() < 0.05:  # an aborted txn must leave no trace
            txn.put(b"marker", b"%d" % (n + 1000000))
            txn.abort()
            n -= 1
            continue
        txn.put(b"marker", b"%d" % n)
        txn.commit()
        os.write(1, b"%d\n" % n)  # acknowledged


def expected_state(m):
    exp = {b"marker": b"%d" % m}
    for s in range(SLOTS):
        # the last txn n <= m with n % SLOTS == s
        n = m - ((m - s) % SLOTS)
        if n >= 1:
            for j in range(WIDTH):
                exp[b"slot/%02d/%d" % (s, j)] = value(n, j)
    for n in range(max(1, m - KEEP + 1), m + 1):
        exp[b"log/%010d" % n] = value(n, 99)
    return exp


def verify(path, sync, metasync, last_acked, strong):
    """Open after the kill; the visible state must be exactly the state after
    some txn m (all-or-nothing), m >= last_acked when durability is strong."""
    lmdb = H.import_impl("zlmdb")
    env = open_env(lmdb, path, sync, metasync)
    problems = []
    with env.begin() as txn:
        raw = txn.get(b"marker")
        m = int(raw) if raw is not None else 0
        exp = expected_state(m) if m else {}
        seen = {}
        # full scan, forwards and backwards
        for k, v in txn.cursor():
            seen[k] = v
        back = [k for k, _ in txn.cursor().iterprev()]
        if back != sorted(seen)[::-1]:
            problems.append("reverse scan differs from forward scan")
        for k, v in exp.items():
            if txn.get(k) != v:
                problems.append("get(%r) mismatch" % k)
                break
        if seen != exp:
            problems.append("state is not the state after txn %d: %s"
                            % (m, H.dict_difference(seen, exp)))
    st = env.stat()
    if st["entries"] != len(seen):
        problems.append("stat entries %d != scanned %d" % (st["entries"], len(seen)))
    if strong and m < last_acked:
        problems.append("lost acknowledged commits: marker %d < acked %d" % (m, last_acked))
    env.close()
    H.emit({"marker": m, "problems": problems, "records": len(seen)})


def campaign(workdir, kills, sync=True, metasync=True, seed=1, max_delay=0.6,
             log=None, script=None, flags=None, strong=None):
    """Run `kills` writer/kill/verify rounds on one environment; return stats.

    `script` names another child script with the same protocol (orm_crash.py):
    `writer PATH FLAGS... SEED` acknowledges commits on stdout after an
    "R n" ready line; `verify PATH FLAGS... LAST_ACKED STRONG` emits
    {"marker", "problems", "records"}.  `flags` are its mode arguments
    (default: sync, metasync) and `strong` whether no acknowledged commit
    may be lost (default: sync and metasync)."""
    rnd = random.Random(seed)
    script = script or os.path.basename(__file__)
    flags = [int(sync), int(metasync)] if flags is None else list(flags)
    path = os.path.join(workdir, "env-%s-%s" % (os.path.splitext(script)[0],
                                                "-".join(str(f) for f in flags)))
    strong = bool(sync and metasync) if strong is None else bool(strong)
    stats = {"kills": 0, "acked_total": 0, "verified_commits": 0, "lost_commits": 0,
             "failures": [], "sync": sync, "metasync": metasync, "final_marker": 0,
             "kills_before_ready": 0, "flags": flags}
    for rnd_i in range(kills):
        argv = [H.PY, os.path.join(H.HERE, script), "writer", path] + flags + [
            rnd.randrange(1 << 30)]
        errf = open(os.path.join(workdir, "writer.stderr"), "w+b")
        proc = subprocess.Popen([str(a) for a in argv], stdout=subprocess.PIPE, stderr=errf,
                                env=H.child_env())
        acks = []
        ready = threading.Event()

        def reader(p=proc, out=acks, ev=ready):
            for line in p.stdout:
                if line.startswith(b"R "):
                    ev.set()
                else:
                    out.append(int(line))
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        if rnd.random() < 0.1:  # sometimes kill during start-up/recovery
            time.sleep(rnd.uniform(0, 0.3))
            if not ready.is_set():
                stats["kills_before_ready"] += 1
        else:
            ready.wait(120)
            time.sleep(rnd.uniform(0.01, max_delay))
        early_exit = proc.poll()
        try:
            proc.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        t.join(30)
        errf.seek(0)
        err = errf.read()
        errf.close()
        stats["kills"] += 1
        why = H.crash_reason(proc.returncode, err, killed_by_us=True)
        if early_exit is not None:
            why = why or "writer exited by itself (rc=%s): %s" % (early_exit, err[-500:])
        if why:
            stats["failures"].append("round %d writer: %s" % (rnd_i, why))
            continue
        last = acks[-1] if acks else 0
        stats["acked_total"] += len(acks)
        res = H.run_script(script, ["verify", path] + flags + [last, int(strong)], timeout=180)
        info = res.json()
        why = res.failure()
        if why:
            stats["failures"].append("round %d verify: %s" % (rnd_i, why))
            continue
        if info["problems"]:
            stats["failures"].append("round %d: %s" % (rnd_i, info["problems"]))
        if info["marker"] < last:
            stats["lost_commits"] += last - info["marker"]
        stats["verified_commits"] = info["marker"]
        stats["final_marker"] = info["marker"]
        if log:
            log("kill %d: acked %d this round (last %d), marker %d" % (
                rnd_i, len(acks), last, info["marker"]))
    return stats


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "writer":
        writer(a[1], a[2] == "1", a[3] == "1", int(a[4]))
    elif a[0] == "verify":
        verify(a[1], a[2] == "1", a[3] == "1", int(a[4]), a[5] == "1")
