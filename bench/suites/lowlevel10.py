"""The lowlevel suite on the LMDB 1.0 engine (data format v3).

The same workloads, data and systems as suites/lowlevel.py, each environment
created with ``lib_version=1``: zlmdb.lmdb against py-lmdb 3.0 on its 1.0
engine, and against raw C built on the same LMDB 1.0.2 (bench_raw_lmdb_v10).
"""

import copy

from harness import Suite
from suites import lowlevel

# The workload functions, for the child (bench/child.py looks them up here).
for _w in lowlevel.WORKLOADS:
    globals()[_w.name] = getattr(lowlevel, _w.name)

_modes = copy.deepcopy(lowlevel.SUITE.modes)
for _params in _modes.values():
    _params["lib_version"] = 1
_settings = dict(lowlevel.SUITE.settings)
_settings["environment"] = _settings["environment"].replace(
    "lib_version=0: LMDB 0.9.36", "lib_version=1: LMDB 1.0.2")

SUITE = Suite(
    name="lowlevel10",
    title="Low-level layer on LMDB 1.0: zlmdb.lmdb vs py-lmdb vs raw LMDB",
    systems=[s for s in lowlevel.SYSTEMS if s.name != "raw-c"] + [lowlevel.raw_c_system("v10")],
    workloads=lowlevel.WORKLOADS,
    ours="zlmdb.lmdb",
    modes=_modes,
    targets=lowlevel.TARGETS,
    default_targets=lowlevel.SUITE.default_targets,
    settings=_settings,
    preflight=lowlevel.preflight,
)
