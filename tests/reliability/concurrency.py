"""System 2: multi-process / multi-thread concurrency.

bank:    K accounts whose balances always sum to K * START.  Writer processes
         do random transfers (some aborted); reader processes (each with
         several reader threads) hold read transactions, some of them long,
         and verify the sum and the account count in every read txn, via a
         cursor scan and via get().  Each child has a time budget; the parent
         kills and fails any child that overruns it by a generous margin.
readers: reader slots of SIGKILLed reader processes appear in env.readers()
         and are cleared by env.reader_check().
fork:    fork while the parent holds a read and a write txn; the child drops
         the inherited objects (and, in one variant, closes the inherited env),
         then execs a fresh interpreter that opens its own handle, reads, and
         writes (blocking until the parent commits); the parent keeps using
         its txns and commits.

Usage as a child:  concurrency.py init ENV K
                   concurrency.py writer ENV K SECONDS SEED
                   concurrency.py reader ENV K SECONDS THREADS SEED
                   concurrency.py hold ENV            (read txn, then sleep)
                   concurrency.py fork ENV VARIANT
                   concurrency.py forkchild ENV
"""
import gc
import os
import random
import re
import signal
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402

START = 1000
MAP_SIZE = 32 << 20


def acct(i):
    return b"acct/%04d" % i


def enc(v):
    return struct.pack(">q", v)


def dec(b):
    return struct.unpack(">q", b)[0]


def open_env(lmdb, path):
    return lmdb.open(path, map_size=MAP_SIZE, max_dbs=2, max_readers=126)


def init(path, k):
    lmdb = H.import_impl("zlmdb")
    env = open_env(lmdb, path)
    with env.begin(write=True) as txn:
        for i in range(k):
            txn.put(acct(i), enc(START))
        txn.put(b"meta/transfers", enc(0))
    env.close()


def writer(path, k, seconds, seed):
    lmdb = H.import_impl("zlmdb")
    rnd = random.Random(seed)
    env = open_env(lmdb, path)
    deadline = time.monotonic() + seconds
    done = aborted = 0
    while time.monotonic() < deadline:
        txn = env.begin(write=True)
        for _ in range(rnd.randint(1, 4)):
            a, b = rnd.randrange(k), rnd.randrange(k)
            amt = rnd.randint(1, 50)
            txn.put(acct(a), enc(dec(txn.get(acct(a))) - amt))
            txn.put(acct(b), enc(dec(txn.get(acct(b))) + amt))
        if rnd.random() < 0.1:
            txn.abort()
            aborted += 1
            continue
        txn.put(b"meta/transfers", enc(dec(txn.get(b"meta/transfers")) + 1))
        txn.commit()
        done += 1
    env.close()
    H.emit({"role": "writer", "commits": done, "aborts": aborted})


def check_txn(txn, k, total):
    s = n = 0
    for key, val in txn.cursor().iternext():
        if bytes(key[:5]) == b"acct/":
            s += dec(val)
            n += 1
    if n != k or s != total:
        return "cursor scan: %d accounts, sum %d (want %d, %d)" % (n, s, k, total)
    s2 = sum(dec(txn.get(acct(i))) for i in range(k))
    if s2 != total:
        return "get(): sum %d (want %d)" % (s2, total)
    return None


def reader(path, k, seconds, threads, seed):
    lmdb = H.import_impl("zlmdb")
    env = open_env(lmdb, path)
    total = k * START
    deadline = time.monotonic() + seconds
    counts = []
    errors = []
    seen_ids = set()

    def loop(tseed):
        try:
            _loop(tseed)
        except BaseException as e:  # noqa: B902 - any exception is a finding here
            errors.append("thread raised %r" % (e,))

    def _loop(tseed):
        rnd = random.Random(tseed)
        c = 0
        while time.monotonic() < deadline and not errors:
            with env.begin(buffers=rnd.random() < 0.3) as txn:
                err = check_txn(txn, k, total)
                if err is None and rnd.random() < 0.2:
                    time.sleep(rnd.uniform(0.01, 0.2))  # a long read txn
                    err = check_txn(txn, k, total)  # same snapshot, same sum
                seen_ids.add(txn.id())
            if err:
                errors.append(err)
            c += 1
        counts.append(c)

    ts = [threading.Thread(target=loop, args=(seed * 100 + i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    env.close()
    if len(counts) != threads or not all(counts):
        errors.append("a reader thread made no progress: %r" % counts)
    H.emit({"role": "reader", "read_txns": sum(counts), "errors": errors[:5],
            "snapshots": len(seen_ids)})
    sys.exit(3 if errors else 0)


def bank(workdir, seconds=8, writers=2, readers=2, threads=3, k=50, seed=1, margin=90):
    path = os.path.join(workdir, "bank")
    res = H.run_script("concurrency.py", ["init", path, k], timeout=120)
    out = {"failures": [], "writer_commits": [], "read_txns": 0, "snapshots": 0,
           "seconds": seconds, "writers": writers, "readers": readers, "threads": threads}
    if res.crash or res.returncode:
        out["failures"].append("init: " + res.describe())
        return out
    procs = []
    t0 = time.monotonic()
    for i in range(writers):
        procs.append(("writer", _spawn(["writer", path, k, seconds, seed * 10 + i])))
    for i in range(readers):
        procs.append(("reader", _spawn(["reader", path, k, seconds, threads, seed * 10 + i])))
    for role, p in procs:
        left = max(1.0, seconds + margin - (time.monotonic() - t0))
        try:
            so, se = p.communicate(timeout=left)
            hung = False
        except subprocess.TimeoutExpired:
            hung = True
            p.send_signal(signal.SIGABRT)
            so, se = p.communicate()
        r = H.ChildResult(p.args, p.returncode, so.decode(), se.decode(),
                          time.monotonic() - t0, hung)
        info = r.json()
        if info and info.get("errors"):
            out["failures"].append("reader saw: %r" % info["errors"])
        why = r.failure()
        if why:
            out["failures"].append("%s: %s" % (role, why))
            continue
        if role == "writer":
            out["writer_commits"].append(info["commits"])
            if info["commits"] == 0:
                out["failures"].append("a writer made no progress")
        else:
            out["read_txns"] += info["read_txns"]
            out["snapshots"] += info["snapshots"]
    # the final state: invariant, and the transfer counter equals the commits
    lmdb = H.import_impl("zlmdb")
    env = open_env(lmdb, path)
    with env.begin() as txn:
        err = check_txn(txn, k, k * START)
        if err:
            out["failures"].append("final state: " + err)
        if dec(txn.get(b"meta/transfers")) != sum(out["writer_commits"]) and \
                len(out["writer_commits"]) == writers:
            out["failures"].append("transfer counter %d != commits %d" % (
                dec(txn.get(b"meta/transfers")), sum(out["writer_commits"])))
    env.close()
    out["elapsed"] = time.monotonic() - t0
    return out


def _spawn(args):
    return subprocess.Popen([H.PY, __file__] + [str(a) for a in args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=H.child_env())


# --- reader slot reclamation ------------------------------------------------

def hold(path):
    lmdb = H.import_impl("zlmdb")
    env = open_env(lmdb, path)
    txn = env.begin()
    txn.get(b"acct/0000")
    os.write(1, b"ready %d\n" % os.getpid())
    time.sleep(600)


def reader_pids(text):
    pids = set()
    for line in text.splitlines()[1:]:
        m = re.match(r"\s*(\d+)\s", line)
        if m:
            pids.add(int(m.group(1)))
    return pids


def readers_reclaim(workdir, holders=3):
    """Returns a dict; 'failures' lists what went wrong."""
    path = os.path.join(workdir, "slots")
    lmdb = H.import_impl("zlmdb")
    out = {"failures": [], "holders": holders}
    res = H.run_script("concurrency.py", ["init", path, 5], timeout=120)
    if res.crash or res.returncode:
        out["failures"].append("init: " + res.describe())
        return out
    env = open_env(lmdb, path)
    procs = []
    try:
        for _ in range(holders):
            p = subprocess.Popen([H.PY, __file__, "hold", path], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=H.child_env())
            line = p.stdout.readline()
            if not line.startswith(b"ready"):
                p.kill()
                _, err = p.communicate()
                out["failures"].append("holder did not start: %r %r" % (line, err[-2000:]))
                return out
            procs.append(p)
        pids = {p.pid for p in procs}
        listed = reader_pids(env.readers())
        if not pids <= listed:
            out["failures"].append("readers() misses live holders: %r not in %r" % (pids, listed))
        if env.reader_check() != 0:
            out["failures"].append("reader_check() cleared live readers")
        for p in procs:
            p.send_signal(signal.SIGKILL)
        for p in procs:
            p.wait()
            why = H.crash_reason(p.returncode, p.stderr.read(), killed_by_us=True)
            if why:
                out["failures"].append("holder: " + why)
        cleared = env.reader_check()
        out["cleared"] = cleared
        if cleared != holders:
            out["failures"].append("reader_check() returned %d, expected %d" % (cleared, holders))
        left = reader_pids(env.readers()) & pids
        if left:
            out["failures"].append("stale slots still listed: %r" % left)
        if env.reader_check() != 0:
            out["failures"].append("second reader_check() was not 0")
        # the freed slots are usable and the writer is not blocked by them
        with env.begin(write=True) as txn:
            txn.put(b"after", b"reclaim")
        with env.begin() as txn:
            if txn.get(b"after") != b"reclaim":
                out["failures"].append("write after reclaim not visible")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        env.close()
    return out


# --- fork in the middle of transactions -------------------------------------

def fork_parent(path, variant):
    """variant: 'drop' (child drops the inherited objects) or 'close' (child
    also calls close() on the inherited env) or 'exit' (child just _exits)."""
    lmdb = H.import_impl("zlmdb")
    env = open_env(lmdb, path)
    with env.begin(write=True) as txn:
        txn.put(b"base", b"1")
    rtxn = env.begin()
    rcur = rtxn.cursor()
    rcur.first()
    wtxn = env.begin(write=True)
    wtxn.put(b"parent/pre", b"x" * 3000)
    wcur = wtxn.cursor()
    wcur.set_range(b"parent/")
    before = reader_pids(env.readers())
    pid = os.fork()
    if pid == 0:
        try:
            if variant in ("drop", "close"):
                if variant == "close":
                    env.close()
                del rcur, wcur
                del rtxn, wtxn
                gc.collect()
                if variant == "drop":
                    del env
                    gc.collect()
            os.execv(H.PY, [H.PY, __file__, "forkchild", path])
        except BaseException as e:  # noqa: B902
            sys.stderr.write("child failed: %r\n" % (e,))
            os._exit(7)
        os._exit(0)
    problems = []
    # the parent continues with both txns, while the child runs
    time.sleep(0.2)
    if rtxn.get(b"base") != b"1" or rcur.key() != b"base":
        problems.append("parent read txn broken after fork")
    if reader_pids(env.readers()) & {os.getpid()} != before & {os.getpid()}:
        problems.append("parent reader slot changed by the child")
    wtxn.put(b"parent/post", b"y")
    if wcur.key() != b"parent/pre":
        problems.append("parent write cursor broken after fork")
    wtxn.commit()
    rtxn.abort()
    deadline = time.monotonic() + 120
    while True:
        wp, status = os.waitpid(pid, os.WNOHANG)
        if wp:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            problems.append("child hung")
            status = None
            break
        time.sleep(0.05)
    if status is not None:
        if os.WIFSIGNALED(status):
            problems.append("child killed by signal %d" % os.WTERMSIG(status))
        elif os.WEXITSTATUS(status) != 0:
            problems.append("child exit status %d" % os.WEXITSTATUS(status))
    with env.begin() as txn:
        for k in (b"parent/pre", b"parent/post", b"child/wrote"):
            if txn.get(k) is None:
                problems.append("missing %r" % k)
    env.close()
    H.emit({"variant": variant, "problems": problems})
    sys.exit(1 if problems else 0)


def fork_child(path):
    lmdb = H.import_impl("zlmdb")
    env = open_env(lmdb, path)
    with env.begin() as txn:
        if txn.get(b"base") != b"1":
            sys.exit(5)
    with env.begin(write=True) as txn:  # blocks until the parent commits
        if txn.get(b"parent/post") != b"y":
            sys.exit(6)
        txn.put(b"child/wrote", b"1")
    env.close()


def fork_mid_txn(workdir, variant):
    path = os.path.join(workdir, "fork-" + variant)
    res = H.run_script("concurrency.py", ["fork", path, variant], timeout=180)
    failures = []
    why = res.failure()
    if why:
        failures.append("%s: %s" % (variant, why))
    return {"variant": variant, "failures": failures}


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "init":
        init(a[1], int(a[2]))
    elif a[0] == "writer":
        writer(a[1], int(a[2]), float(a[3]), int(a[4]))
    elif a[0] == "reader":
        reader(a[1], int(a[2]), float(a[3]), int(a[4]), int(a[5]))
    elif a[0] == "hold":
        hold(a[1])
    elif a[0] == "fork":
        fork_parent(a[1], a[2])
    elif a[0] == "forkchild":
        fork_child(a[1])
