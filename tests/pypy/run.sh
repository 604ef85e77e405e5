#!/bin/sh
# `make test-pypy`, the part that runs inside the Debian trixie chroot
# (tools/chroot.py), with the source tree at /src: builds zlmdb for PyPy
# (the CFFI binding, CMakeLists.txt) into a PyPy virtualenv of the chroot,
# then runs our low-level tests and py-lmdb 3.0.0's own suite on it.
#   PYPY_TESTS   pytest arguments (default: the low-level test files)
#   COMPAT_ARGS  passed to tests/peers/run_pylmdb.py
set -eu
VENV=/opt/zlmdb-pypy-venv
PY=$VENV/bin/pypy3
# The host's CA bundle, when it is bind-mounted (a proxy's own CA, say).
if [ -f /etc/ssl/host-certs/ca-certificates.crt ]; then
    export PIP_CERT=/etc/ssl/host-certs/ca-certificates.crt
fi
export ZLMDB_DEPS_CACHE=/src/build/_deps PIP_DISABLE_PIP_VERSION_CHECK=1
cd /src
if [ ! -x $PY ]; then
    pypy3 -m venv $VENV
fi
# py-lmdb (built from its sdist: its cffi backend) for the differential tests.
# hypothesis: its later wheels for PyPy carry a native module this PyPy
# (7.3.19) cannot load; 6.150 is the pure-Python one.
$PY -m pip install -q "scikit-build-core>=0.10" pytest "hypothesis==6.150.0" "lmdb==3.0.0"
$PY -m pip install -q --no-build-isolation -e .
$PY -c "import platform, zlmdb.lmdb as l; assert platform.python_implementation() == 'PyPy'; \
print('zlmdb.lmdb on PyPy %s: %s, LMDB %s and %s' % (platform.python_version(), \
l.Environment.__init__.__module__, l.version(lib_version=0), l.version(lib_version=1)))"
TESTS=${PYPY_TESTS:-"tests/python/test_lowlevel_env.py tests/python/test_lowlevel_txn.py \
tests/python/test_lowlevel_cursor.py tests/python/test_lowlevel_spare.py \
tests/python/test_env_txn.py tests/python/test_cursor_basics.py tests/python/test_engines.py \
tests/python/test_diff_pylmdb.py tests/python/test_aio.py tests/python/test_tool.py \
tests/python/test_verify.py tests/python/test_lifetime.py tests/python/test_pylmdb3_changes.py"}
status=0
echo "== our low-level tests on PyPy, new environments on LMDB 0.9"
$PY -m pytest -q -p no:cacheprovider $TESTS || status=1
echo "== our low-level tests on PyPy, new environments on LMDB 1.0"
LMDB_DEFAULT_LIB_VERSION=1 $PY -m pytest -q -p no:cacheprovider $TESTS || status=1
echo "== py-lmdb 3.0.0's suite on PyPy"
nice $PY tests/peers/run_pylmdb.py ${COMPAT_ARGS:-} || status=1
exit $status
