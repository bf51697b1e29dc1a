#!/bin/sh
# Packaging as C users meet it (mk/install.mk, etcd.pc.in, etcd-tls.pc.in,
# CMakeLists.txt), each step one ok/FAIL line:
#   make install DESTDIR=<tmp>/stage PREFIX=/usr: the files, their contents,
#   the .pc Version = etcd.h's ETCD_VERSION; tests/consumer/main.c built with
#   pkg-config (etcd, etcd-tls) against that staged install and run; built
#   with CMake through add_subdirectory (etcd::etcd, etcd::etcd_tls) and
#   through FetchContent from a file:// archive of this checkout (with
#   find_package(OpenSSL) disabled: configures, no etcd::etcd_tls), and run;
#   make uninstall removes every file.
# The TLS steps print "skip" when OpenSSL's headers are missing (make deps
# installs them). Everything goes to a mktemp dir, removed at the end
# (KEEP=1 keeps it); make install builds build/etcdctl_lite if missing.
# Nothing but 127.0.0.1 is contacted (and not even that: etcd_new sends
# nothing). Needs cmake and pkg-config (make deps).
# shellcheck disable=SC2015  # "a && b || fail": fail when either is false
cd "$(dirname "$0")/.." || exit 1
repo=$(pwd)
passed=0; failed=0
t=$(mktemp -d) || exit 1
trap '[ -n "${KEEP:-}" ] && echo "kept $t" || rm -rf "$t"' EXIT
trap 'exit 1' INT TERM
mkdir -p "$t/log"
# Called from make test: a sub-make or a generated build must not try to use
# that make's job server (its descriptors are not passed on).
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEFILES
WARN="-std=c99 -Wall -Wextra -Wpedantic -Werror"
gen=; command -v ninja >/dev/null 2>&1 && gen="-G Ninja"

ok()   { echo "ok   $1"; passed=$((passed + 1)); }
# fail NAME [LOG]: the FAIL line, then the log's last lines, indented
fail() {
    echo "FAIL $1"; failed=$((failed + 1))
    [ -n "${2:-}" ] && [ -s "$2" ] && tail -n 15 "$2" | sed 's/^/     | /'
    return 0
}
# check NAME LOG CMD...: CMD's output to LOG; ok when it exits 0
check() {
    name=$1; log=$2; shift 2
    if "$@" > "$log" 2>&1; then ok "$name"; else fail "$name" "$log"; fi
}

version=$(sed -n 's/^#define[[:space:]]*ETCD_VERSION[[:space:]]*"\([^"]*\)".*/\1/p' etcd.h)
expect_plain="etcd.h $version ETCD_OK http"
expect_tls="etcd.h $version ETCD_OK https"
stage=$t/stage
pcdir=$stage/usr/share/pkgconfig
have_ssl=; [ -r /usr/include/openssl/ssl.h ] && have_ssl=1

# 1. make install. Under make test, build/etcdctl_lite is fresh and other
# suites (test_examples) may be running it: it is installed as it is (-o),
# not rebuilt, even if examples/etcdctl_lite.c changed since.
old=; [ -x build/etcdctl_lite ] && old="-o build/etcdctl_lite"
# shellcheck disable=SC2086
check "make install DESTDIR=<tmp>/stage PREFIX=/usr" "$t/log/install" \
    make --no-print-directory $old install DESTDIR="$stage" PREFIX=/usr

# 2. exactly these files, as they should be
files_ok() {
    found=$(cd "$stage" && find . -type f | sort | tr '\n' ' ')
    want="./usr/bin/etcdctl_lite ./usr/include/etcd.h ./usr/share/pkgconfig/etcd-tls.pc ./usr/share/pkgconfig/etcd.pc "
    [ "$found" = "$want" ] || { echo "installed: $found"; echo "expected:  $want"; return 1; }
    cmp etcd.h "$stage/usr/include/etcd.h" || return 1
    cmp build/etcdctl_lite "$stage/usr/bin/etcdctl_lite" || return 1
    [ -x "$stage/usr/bin/etcdctl_lite" ] || { echo "etcdctl_lite not executable"; return 1; }
    for f in "$stage/usr/include/etcd.h" "$pcdir/etcd.pc" "$pcdir/etcd-tls.pc"; do
        [ "$(stat -c %a "$f")" = 644 ] || { echo "$f: mode $(stat -c %a "$f")"; return 1; }
    done
    ! grep -n '@[A-Z]*@' "$pcdir/etcd.pc" "$pcdir/etcd-tls.pc" || return 1
    grep -qx 'prefix=/usr' "$pcdir/etcd.pc" || { echo "etcd.pc: no prefix=/usr"; return 1; }
}
check "installed: etcd.h, etcd.pc, etcd-tls.pc (share/pkgconfig), etcdctl_lite" "$t/log/files" files_ok

# 3. what pkg-config makes of them (the staged tree as a sysroot)
PKG_CONFIG_PATH=$pcdir; PKG_CONFIG_SYSROOT_DIR=$stage
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
pc_ok() {
    [ -n "$version" ] || { echo "no ETCD_VERSION in etcd.h"; return 1; }
    pkg-config --validate etcd || return 1
    v=$(pkg-config --modversion etcd) && [ "$v" = "$version" ] || { echo "etcd: version '$v', etcd.h: '$version'"; return 1; }
    # (pkgconf ends its output with a space)
    c=$(pkg-config --cflags etcd | sed 's/[[:space:]]*$//')
    [ "$c" = "-I$stage/usr/include" ] || { echo "etcd: cflags '$c'"; return 1; }
    l=$(pkg-config --libs etcd | sed 's/[[:space:]]*$//')
    [ -z "$l" ] || { echo "etcd: libs '$l'"; return 1; }
    pkg-config --exists "etcd = $version" || return 1
}
check "pkg-config etcd: Version $version (from etcd.h), -I<stage>/usr/include, no libs" "$t/log/pc" pc_ok

# 4. the consumer, through pkg-config
pc_build() {  # pc_build MODULE OUT EXPECTED
    # shellcheck disable=SC2046,SC2086
    cc $WARN $(pkg-config --cflags "$1") -o "$t/$2" tests/consumer/main.c $(pkg-config --libs "$1") || return 1
    out=$("$t/$2") || return 1
    [ "$out" = "$3" ] || { echo "printed '$out', want '$3'"; return 1; }
}
check "pkg-config etcd: consumer builds and runs" "$t/log/pc-build" pc_build etcd pc_consumer "$expect_plain"
if [ -n "$have_ssl" ]; then
    pc_tls_ok() {
        pkg-config --validate etcd-tls || return 1
        v=$(pkg-config --modversion etcd-tls) && [ "$v" = "$version" ] || { echo "etcd-tls: version '$v'"; return 1; }
        c=$(pkg-config --cflags etcd-tls); l=$(pkg-config --libs etcd-tls)
        case " $c " in *" -DETCD_USE_OPENSSL "*) ;; *) echo "etcd-tls: cflags '$c'"; return 1;; esac
        # (with the stage as sysroot, OpenSSL's -L gets its prefix too: harmless)
        case " $l " in *" -lssl "*) ;; *) echo "etcd-tls: libs '$l'"; return 1;; esac
        case " $l " in *" -lcrypto "*) ;; *) echo "etcd-tls: libs '$l'"; return 1;; esac
        pc_build etcd-tls pc_consumer_tls "$expect_tls"
    }
    check "pkg-config etcd-tls: -DETCD_USE_OPENSSL, -lssl -lcrypto; consumer builds and runs" \
        "$t/log/pc-tls" pc_tls_ok
else
    echo "skip pkg-config etcd-tls: no OpenSSL headers (make deps)"
fi
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

# 5. the consumer, through CMake
cmake_build() {  # cmake_build DIR -D...: configure, build, run consumer (and consumer_tls)
    dir=$1; shift
    # shellcheck disable=SC2086
    cmake $gen -S tests/consumer -B "$dir" -DCMAKE_C_FLAGS="$WARN" "$@" || return 1
    cmake --build "$dir" || return 1
    out=$("$dir/consumer") && [ "$out" = "$expect_plain" ] || { echo "consumer printed '$out'"; return 1; }
    if [ -e "$dir/consumer_tls" ]; then
        out=$("$dir/consumer_tls") && [ "$out" = "$expect_tls" ] || { echo "consumer_tls printed '$out'"; return 1; }
    fi
}
subdir_ok() {
    cmake_build "$t/cmake-subdir" -DETCD_FROM=subdir -DETCD_DIR="$repo" || return 1
    if [ -n "$have_ssl" ] && [ ! -x "$t/cmake-subdir/consumer_tls" ]; then
        echo "OpenSSL is here but no etcd::etcd_tls"; return 1
    fi
    # the repository's own tests or examples must not be CMake targets
    ! grep -rlE 'test_[a-z]+|etcdctl_lite' "$t/cmake-subdir/etcd" 2>/dev/null | grep -q .
}
if [ -n "$have_ssl" ]; then what="etcd::etcd and etcd::etcd_tls"; else what="etcd::etcd"; fi
check "CMake add_subdirectory: $what, consumers build and run" "$t/log/cmake-subdir" subdir_ok

fetch_ok() {
    src=$t/archive/etcd.h-$version
    mkdir -p "$src" && cp etcd.h CMakeLists.txt LICENSE "$src/" &&
    tar -C "$t/archive" -czf "$t/etcd.h-$version.tar.gz" "etcd.h-$version" || return 1
    cmake_build "$t/cmake-fetch" -DETCD_FROM=fetch -DETCD_URL="file://$t/etcd.h-$version.tar.gz" \
        -DCMAKE_DISABLE_FIND_PACKAGE_OpenSSL=ON || return 1
    [ -f "$t/cmake-fetch/_deps/etcd-src/etcd.h" ] || { echo "FetchContent did not unpack the archive"; return 1; }
    [ ! -e "$t/cmake-fetch/consumer_tls" ] || { echo "etcd::etcd_tls defined without OpenSSL"; return 1; }
}
check "CMake FetchContent (file:// archive), OpenSSL not found: etcd::etcd only, consumer builds and runs" \
    "$t/log/cmake-fetch" fetch_ok

# 6. make uninstall
uninstall_ok() {
    make --no-print-directory uninstall DESTDIR="$stage" PREFIX=/usr || return 1
    left=$(find "$stage" -type f)
    [ -z "$left" ] || { echo "left behind: $left"; return 1; }
}
check "make uninstall removes them" "$t/log/uninstall" uninstall_ok

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
