#!/bin/sh
# `make test-pypy`, the part that runs inside the Debian trixie chroot
# (tools/chroot.py), with the source tree at /src: installs the PyPy wheel
# from dist/ (built from the sdist by tools/dist.py, as the CPython ones) into
# a fresh PyPy virtualenv, then runs our low-level, codec and ORM tests, py-lmdb
# 3.0.0's own suite and upstream zlmdb 26.10.1's ORM suite against that
# installed wheel, never the source tree.
#   PYPY_TESTS   pytest arguments (default: the test files below)
#   COMPAT_ARGS  passed to tests/peers/run_pylmdb.py
#   COMPAT_UPSTREAM_ARGS  passed to tests/peers/run_upstream.py
set -eu
VENV=/opt/zlmdb-pypy-venv
PY=$VENV/bin/pypy3
export ZLMDB_DEPS_CACHE=/src/build/_deps PIP_DISABLE_PIP_VERSION_CHECK=1
cd /src
set -- dist/zlmdb-*-pp311-pypy311_pp73-*.whl
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
    echo "tests/pypy/run.sh: dist/ has no single PyPy 3.11 wheel ($*); run make dist" \
         "(or tools/dist.py --pythons pypy3.11 --keep)" >&2
    exit 2
fi
WHEEL=$1
rm -rf $VENV
pypy3 -m venv $VENV
# py-lmdb (built from its sdist: its cffi backend) for the differential tests,
# before the compilers go.  hypothesis: its later wheels for PyPy carry a
# native module this PyPy (7.3.19) cannot load; 6.150 is the pure-Python one.
# txaio and twisted: what upstream zlmdb's suite imports (the compat extra's pins).
$PY -m pip install -q pytest "hypothesis==6.150.0" "lmdb==3.0.0" "txaio==26.6.1" \
    "twisted==26.10.0"
# The wheel as a user gets it: no compiler, nothing built from source.
# cbor2 is the CBOR tests' reference: 6.3 (CPython's pin) is Rust-only and
# cannot be built here, so PyPy gets 5.9's pure-Python wheel (the tests
# write out 6.3's results where 5.x differs); numpy for timestamp keys and
# the numpy maps, flatbuffers for the FlatBuffers maps.
CC=false CXX=false $PY -m pip install -q --only-binary :all: "$WHEEL" "cbor2==5.9.0" \
    "numpy==2.4.6" flatbuffers
export ZLMDB_TEST_INSTALLED=1
$PY -c "import platform, zlmdb, zlmdb.lmdb as l; assert platform.python_implementation() == 'PyPy'; \
assert zlmdb.__file__.startswith('$VENV/'), zlmdb.__file__; \
print('zlmdb.lmdb on PyPy %s from %s: LMDB %s and %s' % (platform.python_version(), \
zlmdb.__file__, l.version(lib_version=0), l.version(lib_version=1)))"
TESTS=${PYPY_TESTS:-"tests/python/test_lowlevel_env.py tests/python/test_lowlevel_txn.py \
tests/python/test_lowlevel_cursor.py tests/python/test_lowlevel_spare.py \
tests/python/test_env_txn.py tests/python/test_cursor_basics.py tests/python/test_engines.py \
tests/python/test_diff_pylmdb.py tests/python/test_aio.py tests/python/test_tool.py \
tests/python/test_verify.py tests/python/test_lifetime.py tests/python/test_pylmdb3_changes.py \
tests/python/test_codec_cbor.py tests/python/test_codec_cbor_datetime.py \
tests/python/test_codec_cbor_pypy.py tests/python/test_codec_json.py \
tests/python/test_codec_json_pypy.py tests/python/test_codec_fast_paths.py \
tests/python/test_codec_keys.py tests/python/test_codec_keys_pypy.py \
tests/python/test_orm.py tests/python/test_orm_core.py tests/python/test_orm_formats.py \
tests/python/test_orm_tools_api.py tests/python/test_registry.py tests/python/test_cli.py \
tests/python/test_cli_migrate.py tests/python/test_docs_examples.py \
tests/python/test_user_mistakes.py"}
status=0
echo "== our tests on PyPy ($(basename $WHEEL)), new environments on LMDB 0.9"
$PY -m pytest -q -p no:cacheprovider $TESTS || status=1
echo "== our tests on PyPy ($(basename $WHEEL)), new environments on LMDB 1.0"
LMDB_DEFAULT_LIB_VERSION=1 $PY -m pytest -q -p no:cacheprovider $TESTS || status=1
echo "== py-lmdb 3.0.0's suite on PyPy ($(basename $WHEEL))"
nice $PY tests/peers/run_pylmdb.py ${COMPAT_ARGS:-} || status=1
echo "== upstream zlmdb 26.10.1's ORM suite on PyPy ($(basename $WHEEL))"
nice $PY tests/peers/run_upstream.py ${COMPAT_UPSTREAM_ARGS:-} || status=1
exit $status
