"""Turning child results into the JSON document, the stdout table, the chart and
the docs section.  Everything after build_document() reads only that document,
so the docs can be regenerated from a saved JSON file alone."""

import math
import os
import platform
import subprocess
import tempfile

import harness

NA = "n/a"


# ---------------------------------------------------------------- formatting

def fmt_rate(x):
    if x is None:
        return NA
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if x >= div:
            return "%.3g%s" % (x / div, unit) if x / div < 100 else "%.0f%s" % (x / div, unit)
    return "%.3g" % x


def fmt_ratio(r):
    # Truncated, not rounded, so a ratio of 1.297 never shows as a failing "1.30x".
    return NA if r is None else "%.2fx" % (math.floor(r * 100) / 100)


# ---------------------------------------------------------------- machine info

def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _git(*args):
    try:
        out = subprocess.run(["git", "-C", harness.REPO_DIR] + list(args),
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _filesystem(path):
    """(mount point, fs type) holding ``path``, from /proc/mounts when present."""
    path = os.path.realpath(path)
    best = (None, None)
    for line in _read("/proc/mounts").splitlines():
        parts = line.split()
        if len(parts) >= 3:
            mnt = parts[1]
            if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and \
                    (best[0] is None or len(mnt) > len(best[0])):
                best = (mnt, parts[2])
    return best


def machine_info(tmpdir):
    cpu = None
    for line in _read("/proc/cpuinfo").splitlines():
        if line.lower().startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = None
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            mem = round(int(line.split()[1]) / (1024 * 1024), 1)
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = None
    tmp = tmpdir or tempfile.gettempdir()
    mount, fstype = _filesystem(tmp)
    status = _git("status", "--porcelain")
    return {
        "cpu_model": cpu or platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "memory_gib": mem,
        "os": platform.platform(),
        "runner_python": platform.python_version(),
        "tmpdir": tmp,
        "tmpdir_fs": fstype,
        "tmpdir_mount": mount,
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": None if status is None else bool(status),
    }


# ---------------------------------------------------------------- document

def _verdicts(checks):
    """One verdict per target, or per group of alternative targets (met when
    any member is); None entries (a peer was n/a) are left out."""
    out, groups = [], {}
    for c in checks:
        if c.get("group"):
            groups.setdefault(c["group"], []).append(c["pass"])
        elif c["pass"] is not None:
            out.append(c["pass"])
    for members in groups.values():
        if any(members):
            out.append(True)
        elif any(m is False for m in members):
            out.append(False)
    return out


def _summarise(suite, systems, workloads, results):
    by_pair = {(r["workload"], r["system"]): r for r in results}
    names = [s.name for s in systems]
    ours = suite.ours if suite.ours in names else None
    peers = [n for n in names if n != ours]
    rows = []
    for w in workloads:
        rates = {}
        for n in names:
            r = by_pair.get((w.name, n))
            rates[n] = r["ops_per_sec"] if r and r["status"] == "ok" else None
        ratios = {}
        for p in peers:
            a, b = rates.get(ours) if ours else None, rates[p]
            ratios[p] = a / b if a and b else None
        checks = []
        order = {n: i for i, n in enumerate(names)}
        # Ours crashing (or failing its correctness check) fails every target of the row.
        ours_crashed = ours is not None and \
            (by_pair.get((w.name, ours)) or {}).get("status") == "crash"
        for t in sorted(suite.targets_for(w.name), key=lambda t: order.get(t.peer, 0)):
            if t.peer not in names or ours is None:
                continue
            r = ratios.get(t.peer)
            checks.append({"label": t.label, "peer": t.peer, "min_ratio": t.min_ratio,
                           "group": getattr(t, "group", None),
                           "ratio": r, "pass": False if ours_crashed
                           else None if r is None else r >= t.min_ratio})
        verdicts = _verdicts(checks)
        if not verdicts:
            status = "-"
        elif all(verdicts):
            wanted = len([c for c in checks if not c.get("group")]) + \
                len({c["group"] for c in checks if c.get("group")})
            status = "PASS" if len(verdicts) == wanted else "PASS*"
        else:
            status = "FAIL"
        rows.append({"workload": w.name, "ops_per_sec": rates, "ratios": ratios,
                     "targets": checks, "status": status})
    return ours, peers, rows


def build_document(suite, kind, params, repeat, systems, workloads, results, status,
                   started, wall, tmpdir):
    ours, peers, rows = _summarise(suite, systems, workloads, results)
    sys_docs = []
    for s in systems:
        d = s.to_json()
        d["available"] = status[s.name] is None
        if status[s.name] is not None:
            d["reason"] = status[s.name]
        envs = [r.get("env") for r in results if r["system"] == s.name and r.get("env")]
        if envs:
            d["env"] = envs[0]
        sys_docs.append(d)
    return {
        "suite": suite.name,
        "title": suite.title,
        "kind": kind,
        "started_utc": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "wall_seconds": round(wall, 2),
        "params": params,
        "repeat": repeat,
        "statistic": "best of %d runs (highest ops/s), each in a fresh process and "
                     "database" % repeat,
        "machine": machine_info(tmpdir),
        "settings": suite.settings,
        "ours": ours,
        "peers": peers,
        "systems": sys_docs,
        "workloads": [{"name": w.name, "title": w.title, "description": w.description}
                      for w in workloads],
        "results": results,
        "summary": rows,
    }


# ---------------------------------------------------------------- table

def _columns(doc):
    labels = {s["name"]: s["label"] for s in doc["systems"]}
    head = ["workload"] + [labels[s["name"]] + " ops/s" for s in doc["systems"]]
    if doc["ours"]:
        head += ["%s vs %s" % (labels[doc["ours"]], labels[p]) for p in doc["peers"]]
        head += ["target", "status"]
    body = []
    for row in doc["summary"]:
        state = {r["system"]: r["status"] for r in doc["results"]
                 if r["workload"] == row["workload"]}
        # A failed correctness check (AssertionError in the child) is a wrong result.
        wrong = {r["system"] for r in doc["results"] if r["workload"] == row["workload"]
                 and r["status"] == "crash" and "AssertionError" in r.get("reason", "")}
        line = [row["workload"]] + ["WRONG" if s["name"] in wrong
                                    else "CRASH" if state.get(s["name"]) == "crash"
                                    else "-" if state.get(s["name"]) == "skip"
                                    else fmt_rate(row["ops_per_sec"][s["name"]])
                                    for s in doc["systems"]]
        if doc["ours"]:
            line += ["-" if "skip" in (state.get(p), state.get(doc["ours"]))
                     else fmt_ratio(row["ratios"][p]) for p in doc["peers"]]
            line += ["; ".join(c["label"] for c in row["targets"]) or "-", row["status"]]
        body.append(line)
    return head, body


def system_notes(doc):
    """The distinct ``extra["notes"]`` strings the children reported, per system
    (e.g. which implementation ran, or how an output differs from the reference)."""
    labels = {s["name"]: s["label"] for s in doc["systems"]}
    order = {s["name"]: i for i, s in enumerate(doc["systems"])}
    seen, out = set(), []
    for r in sorted(doc["results"], key=lambda r: order.get(r["system"], len(order))):
        for n in (r.get("extra") or {}).get("notes", ()):
            if (r["system"], n) not in seen:
                seen.add((r["system"], n))
                out.append("%s: %s" % (labels.get(r["system"], r["system"]), n))
    return out


def render_table(suite, doc):
    head, body = _columns(doc)
    widths = [max(len(str(r[i])) for r in [head] + body) for i in range(len(head))]
    out = ["%s  (%s mode, %s records, best of %d)" % (
        doc["title"], doc["kind"], _records(doc), doc["repeat"])]
    if not getattr(suite, "main_table", True):
        head, body = None, []

    def line(cells):
        return "  ".join(str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i])
                         if i < len(cells) - 2 or not doc["ours"] else str(c).ljust(widths[i])
                         for i, c in enumerate(cells)).rstrip()

    if head is not None:
        out.append(line(head))
        out.append("  ".join("-" * w for w in widths))
        out.extend(line(r) for r in body)
    extra = getattr(suite, "extra_report", None)
    if extra is not None:
        out.extend(extra(doc, "text"))
    notes = ["%s: n/a (%s)" % (s["label"], s["reason"]) for s in doc["systems"]
             if not s["available"]]
    crashes = ["%s/%s: %s %s" % (r["workload"], r["system"], r["status"], r.get("reason", ""))
               for r in doc["results"]
               if r["status"] == "crash" or (r["status"] == "n/a" and not any(
                   s["name"] == r["system"] and not s["available"] for s in doc["systems"]))]
    notes += system_notes(doc)
    notes += ["WARNING: " + w for w in doc.get("warnings", [])]
    if notes or crashes:
        out.append("")
        out.extend(notes + crashes)
    if any(row["status"] == "PASS*" for row in doc["summary"]):
        out.append("PASS* = every target that could be evaluated passed; some peer was n/a")
    if doc["kind"] == "quick":
        out.append("quick mode is a smoke test: loops of a few ms are noisy, so its ratios "
                   "and PASS/FAIL are indicative only")
    return "\n".join(out)


# ---------------------------------------------------------------- chart

def _records(doc):
    n = doc["params"].get("records")
    return "{:,}".format(n) if isinstance(n, int) else str(n)


def write_chart(path, suite, doc):
    """Left: ops/s per workload and system (log scale).  Right, when ours ran:
    ours / peer per workload, with the target marked.  Returns None or why
    the chart was skipped."""
    custom = getattr(suite, "chart", None)
    if custom is not None:
        return custom(path, suite, doc)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install matplotlib)"
    # Colours follow the suite's system order, so a system keeps its colour
    # whether or not the others were available.
    colour = {s["name"]: "C%d" % (i % 10) for i, s in enumerate(doc["systems"])}
    label = {s["name"]: s["label"] for s in doc["systems"]}
    systems = [s for s in doc["systems"] if s["available"]]
    rows = doc["summary"]
    if not systems or not rows:
        return "nothing to plot"
    ours = doc["ours"] if any(s["name"] == doc["ours"] for s in systems) else None
    peers = [p for p in doc["peers"] if any(s["name"] == p for s in systems)] if ours else []
    titles = {w["name"]: w["title"] for w in doc["workloads"]}
    n = len(rows)
    fig_h = 0.5 * n * max(1.0, len(systems) / 2.0) + 1.6
    if peers:
        fig, (ax, axr) = plt.subplots(1, 2, figsize=(13, fig_h), sharey=True,
                                      gridspec_kw={"width_ratios": [3, 2]})
    else:
        fig, ax = plt.subplots(figsize=(9, fig_h))

    def slot(series, i, name):
        """(y, height) of ``name``'s bar in row ``i``: the row's bars share its band,
        so systems without a value there (n/a, not applicable) leave no gap."""
        present = [n for n, values in series if values[i]]
        if name not in present:
            return None, None
        height = 0.8 / len(present)
        return i + (present.index(name) - (len(present) - 1) / 2.0) * height, height

    def grouped(axis, series, fmt):
        for name, values in series:
            for i, v in enumerate(values):
                if not v:
                    continue
                y, height = slot(series, i, name)
                bar = axis.barh([y], [v], height=height, color=colour[name])[0]
                axis.text(bar.get_width() * 1.02, y, fmt(v), va="center", fontsize=7)

    grouped(ax, [(s["name"], [r["ops_per_sec"].get(s["name"]) for r in rows]) for s in systems],
            fmt_rate)
    ax.set_yticks(range(n))
    ax.set_yticklabels([titles.get(r["workload"], r["workload"]) for r in rows])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("operations per second (log scale, higher is better)")
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=colour[s["name"]], label=label[s["name"]]) for s in systems],
              loc="lower right", fontsize=8)
    ax.grid(axis="x", which="major", alpha=0.3)

    if peers:
        ratio_series = [(p, [r["ratios"].get(p) for r in rows]) for p in peers]
        grouped(axr, ratio_series, fmt_ratio)
        for i, r in enumerate(rows):
            for t in r["targets"]:
                y, height = slot(ratio_series, i, t["peer"])
                if y is None:
                    continue
                axr.plot([t["min_ratio"]] * 2, [y - height / 2, y + height / 2], color="black",
                         linewidth=1.5)
        axr.axvline(1.0, color="grey", linewidth=0.8, linestyle="--")
        axr.set_title("ratio of %s to each peer" % label[ours], fontsize=9)
        axr.grid(axis="x", alpha=0.3)
        values = [v for r in rows for v in r["ratios"].values() if v]
        right = max(values + [1.5])
        if right > 5:
            # Ratios spanning 0.1x..30x (codecs): a linear axis would flatten the
            # ones near the targets, so switch to log.
            left = min(values + [t["min_ratio"] for r in rows for t in r["targets"]] + [0.5])
            axr.set_xscale("log")
            axr.set_xlim(left / 1.5, right * 1.5)
            axr.set_xlabel("%s / peer (log scale; black tick = target)" % label[ours])
        else:
            axr.set_xlim(0, right * 1.2)
            axr.set_xlabel("%s / peer (black tick = target)" % label[ours])

    m = doc["machine"]
    fig.suptitle("%s\n%s records, best of %d (%s mode); %s, %s CPUs, Python %s" % (
        doc["title"], _records(doc), doc["repeat"], doc["kind"], m.get("cpu_model"),
        m.get("cpu_count"), m.get("runner_python")), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


# ---------------------------------------------------------------- docs

def markers(suite_name):
    return ("<!-- BEGIN GENERATED: %s (bench/run.py; do not edit by hand) -->" % suite_name,
            "<!-- END GENERATED: %s -->" % suite_name)


def render_markdown(doc, suite=None):
    head, body = _columns(doc)
    m = doc["machine"]
    envs = {}
    for s in doc["systems"]:
        e = s.get("env") or {}
        if e.get("lmdb_version"):
            envs.setdefault(e["lmdb_version"], []).append(s["label"])
    lmdb = ", ".join("%s (%s)" % (v, ", ".join(who)) for v, who in envs.items()) or NA
    p = doc["params"]
    lines = [
        "Run of %s UTC, `%s` mode: %s records, %s; other parameters: %s." % (
            doc["started_utc"].replace("T", " ").rstrip("Z"), doc["kind"], _records(doc),
            doc["statistic"],
            ", ".join("%s=%s" % (k, v) for k, v in sorted(p.items()) if k != "records")),
        "",
        "Machine: %s, %s CPUs (%s usable), %s GiB RAM, %s; runner Python %s; %sgit commit %s%s."
        % (m.get("cpu_model"), m.get("cpu_count"), m.get("cpus_usable"), m.get("memory_gib"),
           m.get("os"), m.get("runner_python"),
           # Suites without LMDB (codecs) leave out the LMDB version and database location.
           "" if not envs else "LMDB %s; databases on %s (%s); " % (
               lmdb, m.get("tmpdir"), m.get("tmpdir_fs")),
           (m.get("git_commit") or "none")[:12],
            " (with uncommitted changes)" if m.get("git_dirty") else ""),
        "",
    ]
    if suite is None or getattr(suite, "main_table", True):
        lines += [
            "| " + " | ".join(head) + " |",
            "|" + "|".join(["---"] + ["---:"] * (len(head) - 1 - (2 if doc["ours"] else 0))
                           + (["---", "---"] if doc["ours"] else [])) + "|",
        ]
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in body]
    else:
        lines.pop()      # no table: drop the blank line meant to precede it
    extra = getattr(suite, "extra_report", None)
    if extra is not None:
        lines += extra(doc, "markdown")
    notes = ["%s: n/a (%s)" % (s["label"], s["reason"]) for s in doc["systems"]
             if not s["available"]] + system_notes(doc) + doc.get("warnings", [])
    if notes:
        lines += [""] + ["- " + n for n in notes]
    png = "latest-%s%s.png" % (doc["suite"], "" if doc["kind"] == "full" else "-" + doc["kind"])
    if os.path.exists(os.path.join(harness.BENCH_DIR, "results", png)):
        lines += ["", "![ops/s per workload](../bench/results/%s)" % png]
    return "\n".join(lines)


def update_docs(path, suite, doc, section=None):
    """Rewrite the generated section ``section`` (default: the suite's name)."""
    begin, end = markers(section or suite.name)
    section = begin + "\n" + render_markdown(doc, suite) + "\n" + end
    text = _read(path)
    if begin in text and end in text:
        pre, rest = text.split(begin, 1)
        post = rest.split(end, 1)[1]
        text = pre + section + post
    else:
        text = (text.rstrip("\n") + "\n\n" if text else "# Benchmarks\n\n") + \
            "## %s\n\n%s\n" % (suite.title, section)
    with open(path, "w") as f:
        f.write(text)
