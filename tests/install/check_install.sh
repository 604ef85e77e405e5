#!/usr/bin/env bash
# `make check-install`: libzlmdb as a C programmer gets it.  Builds the library
# in Release, installs it with `cmake --install` into a temporary prefix (then
# moves that prefix, since nothing installed may depend on where it was put),
# checks what was installed, and builds the examples of examples/c/ outside
# the tree three ways, running every program:
#   1. pkg-config --cflags --libs zlmdb            (libzlmdb.so)
#   2. pkg-config --static ..., linked with -static (libzlmdb.a)
#   3. a CMake project using find_package(zlmdb CONFIG REQUIRED)
#      with zlmdb::zlmdb and zlmdb::zlmdb_static   (tests/install/consumer/)
#
# Usage: tests/install/check_install.sh [BUILD_DIR]
#   BUILD_DIR defaults to build/install-check.  Environment: CMAKE, NINJA
#   (tools to use), CC (compiler for the pkg-config builds, default gcc).
# Checks the default configuration, LMDB compiled into libzlmdb; ZLMDB_LMDB_SOURCE
# is honoured, ZLMDB_SYSTEM_LMDB is not (a libzlmdb that needs a system liblmdb
# is not what this proves).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build/install-check}
CMAKE=${CMAKE:-cmake}
CC=${CC:-gcc}
unset ZLMDB_SYSTEM_LMDB
gen=()
if [ -n "${NINJA:-}" ]; then
    gen=(-G Ninja "-DCMAKE_MAKE_PROGRAM=$NINJA")
fi

version=$(sed -n 's/^#define ZLMDB_VERSION_STRING "\(.*\)"$/\1/p' "$root/include/zlmdb.h")
major=${version%%.*}
minor=${version#*.}; minor=${minor%%.*}
if [ "$major" = 0 ]; then soversion="0.$minor"; else soversion=$major; fi

work=$(cd "$(mktemp -d "${TMPDIR:-/tmp}/zlmdb-install-check.XXXXXX")" && pwd -P)
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
check() {   # check DESCRIPTION COMMAND...: one counted check
    local what=$1
    shift
    if "$@"; then
        echo "ok - $what"
        passed=$((passed + 1))
    else
        echo "FAIL - $what"
        failed=$((failed + 1))
    fi
}

# ------------------------------------------------------------ build, install
echo "== configure and build $build (Release)"
"$CMAKE" -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DZLMDB_BUILD_TESTS=OFF -DZLMDB_INSTALL=ON -DZLMDB_WERROR=ON -DZLMDB_SYSTEM_LMDB=OFF >/dev/null
"$CMAKE" --build "$build"
echo "== cmake --install into a temporary prefix"
"$CMAKE" --install "$build" --prefix "$work/stage" >/dev/null
mv "$work/stage" "$work/prefix"
prefix=$work/prefix

pcfile=$(find "$prefix" -name zlmdb.pc -path '*/pkgconfig/*')
export PKG_CONFIG_PATH=${pcfile%/zlmdb.pc}
libdir=$(cd "$(pkg-config --variable=libdir zlmdb)" && pwd -P)
incdir=$(cd "$(pkg-config --variable=includedir zlmdb)/zlmdb" && pwd -P)
docdir=$prefix/share/doc/zlmdb
echo "   prefix $prefix: libdir $libdir, headers $incdir"

# ------------------------------------------------------------ what is installed
files_present() {
    local f
    for f in "$libdir/libzlmdb.a" "$libdir/libzlmdb.so" "$libdir/libzlmdb.so.$soversion" \
             "$libdir/libzlmdb.so.$version" "$incdir/zlmdb.h" "$incdir/lmdb.h" \
             "$libdir/cmake/zlmdb/zlmdbConfig.cmake" "$libdir/cmake/zlmdb/zlmdbConfigVersion.cmake" \
             "$docdir/LICENSE" "$docdir/LICENSE.LMDB"; do
        [ -e "$f" ] || { echo "   missing: ${f#"$prefix"/}"; return 1; }
    done
}
check "libraries, headers, package files and licenses installed" files_present
check "installed zlmdb.h is include/zlmdb.h" cmp -s "$root/include/zlmdb.h" "$incdir/zlmdb.h"
check "LICENSE.LMDB is the OpenLDAP Public License" \
    grep -q "The OpenLDAP Public License" "$docdir/LICENSE.LMDB"
check "pkg-config reports version $version" test "$(pkg-config --modversion zlmdb)" = "$version"
check "no installed text file names the build tree or the first prefix" \
    bash -c '! grep -rIl -e "$1" -e "$2" -e "$3" "$4"' _ "$root" "$build" "$work/stage" "$prefix"

dynamic_tags() { readelf -d "$1" 2>&1; }
check "libzlmdb.so has SONAME libzlmdb.so.$soversion" \
    grep -q "Library soname: \[libzlmdb.so.$soversion\]" <(dynamic_tags "$libdir/libzlmdb.so")
check "libzlmdb.so needs no shared LMDB" \
    bash -c '! grep NEEDED <<<"$1" | grep -i lmdb' _ "$(dynamic_tags "$libdir/libzlmdb.so")"

# The dynamic symbol table must be exactly the API the two installed headers
# declare: zlmdb.h's ZLMDB_EXTERN functions and lmdb.h's mdb_* functions.
exports_match_headers() {
    sed -n 's/^ZLMDB_EXTERN([^)]*) *\(zlmdb_[a-z0-9_]*\)(.*/\1/p' "$incdir/zlmdb.h" >"$work/api"
    sed -E -n 's/^[A-Za-z][A-Za-z_ 	]*[ 	*](mdb_[a-z0-9_]+)\(.*/\1/p' "$incdir/lmdb.h" >>"$work/api"
    sort -u -o "$work/api" "$work/api"
    nm -D --defined-only "$libdir/libzlmdb.so" | awk '{print $3}' | sort -u >"$work/exports"
    echo "   $(grep -c '^zlmdb_' "$work/api") zlmdb_* + $(grep -c '^mdb_' "$work/api") mdb_* declared," \
         "$(wc -l <"$work/exports") exported"
    diff "$work/api" "$work/exports" | sed 's/^/   /'
    cmp -s "$work/api" "$work/exports"
}
check "libzlmdb.so exports exactly the functions of zlmdb.h and lmdb.h" exports_match_headers
check "libzlmdb.a holds LMDB (defines mdb_txn_begin)" \
    grep -q " T mdb_txn_begin$" <(nm -g --defined-only "$libdir/libzlmdb.a" 2>/dev/null)

# ------------------------------------------------------------ the programs
# hello_zlmdb reports the library, LMDB and whether LMDB carries the patches.
if grep -q mdb_env_copy3 "$incdir/lmdb.h"; then patched=1; else patched=0; fi
hello_ok() {   # hello_ok COMMAND...
    local out
    out=$("$@") || { echo "   exit status $?"; return 1; }
    echo "   $out"
    grep -Eq "^hello from libzlmdb $version on LMDB 0\.9\.[0-9]+.*\(patched: $patched\)$" <<<"$out"
}
table_ok() {   # table_ok COMMAND...: the table example in a fresh directory
    local out dir
    dir=$(mktemp -d "$work/db.XXXXXX")
    out=$("$@" "$dir/db") || { echo "   exit status $?"; return 1; }
    grep -q "^putting a duplicate e-mail: ZLMDB_UNIQUE" <<<"$out" &&
        grep -q "^users: 3$" <<<"$out" && grep -q "^grace@example.org is user 3$" <<<"$out"
}
engines_ok() {    # both formats, each reopened with its own engine
    local dir out
    dir=$(mktemp -d "$work/db.XXXXXX")
    out=$("$@" "$dir/db") || { echo "   exit status $?"; return 1; }
    grep -q "old: LMDB 0.9.36, data format v1: hello = from LMDB 0.9$" <<<"$out" &&
        grep -q "new: LMDB 1.0.2, data format v3: hello = from LMDB 1.0$" <<<"$out" &&
        grep -q "^opening it as LMDB 0.9: ZLMDB_FORMAT_MISMATCH" <<<"$out"
}
links_shared() {   # the program loads libzlmdb.so.<soversion> from the prefix
    grep -q "NEEDED.*\[libzlmdb.so.$soversion\]" <(dynamic_tags "$1") &&
        grep -q "libzlmdb.so.$soversion => $libdir/" <(LD_LIBRARY_PATH=${2:-} ldd "$1")
}
links_no_zlmdb_so() { ! grep -q "NEEDED.*zlmdb" <(dynamic_tags "$1"); }

cd "$work"
cflags=(-Wall -Wextra -Werror)

echo "== pkg-config, shared: $(pkg-config --cflags --libs zlmdb)"
for ex in hello_zlmdb table_demo engines_demo; do
    # shellcheck disable=SC2046  # pkg-config output is a list of words
    check "$ex compiles and links with pkg-config" \
        "$CC" "${cflags[@]}" -o "pc_$ex" "$root/examples/c/$ex.c" $(pkg-config --cflags --libs zlmdb)
done
# shellcheck disable=SC2046
check "the installed headers compile alone as strict C99" \
    "$CC" -std=c99 -pedantic "${cflags[@]}" -o pc_headertest "$root/tests/headertest/headertest.c" \
    $(pkg-config --cflags --libs zlmdb)
check "pc_hello_zlmdb uses the installed libzlmdb.so" links_shared pc_hello_zlmdb "$libdir"
check "pc_hello_zlmdb runs" hello_ok env LD_LIBRARY_PATH="$libdir" ./pc_hello_zlmdb
check "pc_table_demo runs" table_ok env LD_LIBRARY_PATH="$libdir" ./pc_table_demo
check "pc_engines_demo runs" engines_ok env LD_LIBRARY_PATH="$libdir" ./pc_engines_demo
check "pc_headertest runs" env LD_LIBRARY_PATH="$libdir" ./pc_headertest

echo "== pkg-config, static: -static $(pkg-config --static --cflags --libs zlmdb)"
for ex in hello_zlmdb table_demo engines_demo; do
    # shellcheck disable=SC2046
    check "$ex links statically with pkg-config --static" \
        "$CC" "${cflags[@]}" -static -o "pcs_$ex" "$root/examples/c/$ex.c" \
        $(pkg-config --static --cflags --libs zlmdb)
    check "pcs_$ex is a static executable" \
        grep -q "There is no dynamic section" <(dynamic_tags "pcs_$ex")
done
check "pcs_hello_zlmdb runs" hello_ok ./pcs_hello_zlmdb
check "pcs_table_demo runs" table_ok ./pcs_table_demo
check "pcs_engines_demo runs" engines_ok ./pcs_engines_demo

echo "== CMake: find_package(zlmdb CONFIG REQUIRED) in tests/install/consumer"
cmake_consumer() {
    "$CMAKE" -S "$root/tests/install/consumer" -B "$work/consumer" "${gen[@]}" \
        -DCMAKE_PREFIX_PATH="$prefix" -DZLMDB_EXAMPLES_DIR="$root/examples/c" \
        -DZLMDB_EXPECT_VERSION="$version" >"$work/consumer.log" 2>&1 &&
        "$CMAKE" --build "$work/consumer" >>"$work/consumer.log" 2>&1 ||
        { sed 's/^/   /' "$work/consumer.log"; return 1; }
    grep "consumer: zlmdb" "$work/consumer.log" | sed 's/^-- /   /'
}
check "the consumer project configures and builds" cmake_consumer
bin=$work/consumer
# CMake gives the shared programs an RPATH to the imported library: no
# LD_LIBRARY_PATH here.
check "hello_zlmdb_shared uses the installed libzlmdb.so" links_shared "$bin/hello_zlmdb_shared"
check "hello_zlmdb_shared runs" hello_ok "$bin/hello_zlmdb_shared"
check "table_demo_shared runs" table_ok "$bin/table_demo_shared"
check "hello_zlmdb_static does not load libzlmdb.so" links_no_zlmdb_so "$bin/hello_zlmdb_static"
check "table_demo_static does not load libzlmdb.so" links_no_zlmdb_so "$bin/table_demo_static"
check "hello_zlmdb_static runs" hello_ok "$bin/hello_zlmdb_static"
check "table_demo_static runs" table_ok "$bin/table_demo_static"
check "engines_demo_shared runs" engines_ok "$bin/engines_demo_shared"
check "engines_demo_static runs" engines_ok "$bin/engines_demo_static"

echo "check-install: $passed passed, $failed failed"
[ "$failed" = 0 ]
