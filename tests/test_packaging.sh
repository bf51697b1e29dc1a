#!/bin/sh
# Packaging as C users meet it (mk/install.mk, etcd.pc.in, etcd-tls.pc.in,
# etcd-mbedtls.pc.in, CMakeLists.txt, cmake/), each step one ok/FAIL line:
#   make install DESTDIR=<tmp>/stage PREFIX=/usr: the files, their contents,
#   the .pc Version = etcd.h's ETCD_VERSION; cmake --install of
#   CMakeLists.txt writes the same files; tests/consumer/main.c built with
#   pkg-config (etcd, etcd-tls, etcd-mbedtls) against that staged install and
#   run; tests/consumer built with CMake through add_subdirectory
#   (etcd::etcd, etcd::etcd_tls, etcd::etcd_mbedtls), through FetchContent
#   from a file:// archive of this checkout (with OpenSSL and mbedTLS not to
#   be found: configures, no TLS target), and as a project of its own outside
#   this tree through find_package(etcd CONFIG REQUIRED) with the staged
#   install on CMAKE_PREFIX_PATH (with mbedTLS 2.28 from the system, and 3.6
#   from build/mbedtls36 through its MbedTLS package), and run;
#   find_package(etcd)'s version check and components; make uninstall
#   removes every file.
# etcd::etcd_mbedtls and etcd-mbedtls are checked without etcd.h's
# implementation (tests/consumer/mbedtls_version.c: the define, mbedTLS's
# headers and libraries) and, once etcd.h has its mbedTLS backend, with it
# (main.c: etcd_new takes an https:// endpoint); see "mbedTLS backend guard".
# The TLS steps print "skip" when OpenSSL's or mbedTLS's headers are missing
# (make deps installs them; build/mbedtls36 is make deps' too). Everything
# goes to a mktemp dir, removed at the end (KEEP=1 keeps it); make install
# builds build/etcdctl_lite if missing. Nothing but 127.0.0.1 is contacted
# (and not even that: etcd_new sends nothing). Needs cmake and pkg-config
# (make deps).
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
cmdir=$stage/usr/share/cmake/etcd
have_ssl=; [ -r /usr/include/openssl/ssl.h ] && have_ssl=1
# mbedTLS: the system's 2.28 (libmbedtls-dev), and 3.6 unpacked into
# build/mbedtls36 by make deps (mk/mbedtls.mk)
have_mbedtls=; [ -r /usr/include/mbedtls/ssl.h ] && have_mbedtls=1
m36=$repo/build/mbedtls36/usr
m36lib=
for d in "$m36"/lib/*/; do if [ -e "${d}libmbedtls.so" ]; then m36lib=${d%/}; fi; done
have_mbedtls36=; [ -r "$m36/include/mbedtls/build_info.h" ] && [ -d "$m36lib" ] && have_mbedtls36=1

mb_impl=", consumer_mbedtls"

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
    want="./usr/bin/etcdctl_lite ./usr/include/etcd.h"
    want="$want ./usr/share/cmake/etcd/etcdConfig.cmake ./usr/share/cmake/etcd/etcdConfigVersion.cmake"
    want="$want ./usr/share/cmake/etcd/etcdTLS.cmake"
    want="$want ./usr/share/pkgconfig/etcd-mbedtls.pc ./usr/share/pkgconfig/etcd-tls.pc ./usr/share/pkgconfig/etcd.pc "
    [ "$found" = "$want" ] || { echo "installed: $found"; echo "expected:  $want"; return 1; }
    cmp etcd.h "$stage/usr/include/etcd.h" || return 1
    cmp build/etcdctl_lite "$stage/usr/bin/etcdctl_lite" || return 1
    [ -x "$stage/usr/bin/etcdctl_lite" ] || { echo "etcdctl_lite not executable"; return 1; }
    for f in "$stage/usr/include/etcd.h" "$pcdir"/*.pc "$cmdir"/*.cmake; do
        [ "$(stat -c %a "$f")" = 644 ] || { echo "$f: mode $(stat -c %a "$f")"; return 1; }
    done
    ! grep -n '@[A-Z_]*@' "$pcdir"/*.pc "$cmdir"/*.cmake || return 1
    grep -qx 'prefix=/usr' "$pcdir/etcd.pc" || { echo "etcd.pc: no prefix=/usr"; return 1; }
    cmp cmake/etcdTLS.cmake "$cmdir/etcdTLS.cmake" || return 1
    # relocatable: the prefix from the file's own place, nothing of <tmp>
    grep -q 'CMAKE_CURRENT_LIST_DIR}/\.\./\.\./\.\."' "$cmdir/etcdConfig.cmake" || { echo "etcdConfig.cmake: prefix not ../../.."; return 1; }
    ! grep -n "$t" "$cmdir"/*.cmake || return 1
    grep -qx "set(PACKAGE_VERSION \"$version\")" "$cmdir/etcdConfigVersion.cmake" || { echo "etcdConfigVersion.cmake: not $version"; return 1; }
}
check "installed: etcd.h, etcd.pc, etcd-tls.pc, etcd-mbedtls.pc (share/pkgconfig), etcdConfig.cmake, etcdConfigVersion.cmake, etcdTLS.cmake (share/cmake/etcd), etcdctl_lite" \
    "$t/log/files" files_ok

# 2b. cmake --install of CMakeLists.txt: the same files, byte for byte (all
# but etcdctl_lite, which CMake does not build). Configured for the default
# prefix and installed with --prefix /usr: the .pc files say the latter.
cmake_install_ok() {
    # shellcheck disable=SC2086
    cmake $gen -S . -B "$t/cmake-install" || return 1
    DESTDIR=$t/stage-cmake cmake --install "$t/cmake-install" --prefix /usr || return 1
    d=$(cd "$t/stage-cmake" && echo ./* ./usr/*)
    [ "$d" = "./usr ./usr/include ./usr/share" ] || { echo "cmake --install made $d"; return 1; }
    diff -r "$stage/usr/include" "$t/stage-cmake/usr/include" || return 1
    diff -r "$stage/usr/share" "$t/stage-cmake/usr/share" || return 1
    for f in $(cd "$t/stage-cmake" && find . -type f); do
        [ "$(stat -c %a "$t/stage-cmake/$f")" = 644 ] || { echo "$f: mode $(stat -c %a "$t/stage-cmake/$f")"; return 1; }
    done
}
check "cmake --install (DESTDIR, --prefix /usr): the same files as make install, but etcdctl_lite" \
    "$t/log/cmake-install" cmake_install_ok

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

# etcd-mbedtls: the flags, and what they give a program (mbedtls_version.c,
# no implementation) with mbedTLS 2.28 (the system's) and 3.6 (build/mbedtls36:
# its own -I and -L added, as the .pc file says to, and an rpath to run)
m36flags="-I$m36/include"
m36libs="-L$m36lib -Wl,-rpath,$m36lib"
mbedtls_pc_build() {  # mbedtls_pc_build SRC OUT EXPECTED-PREFIX [EXTRA-CFLAGS EXTRA-LIBS]
    # shellcheck disable=SC2046,SC2086
    cc $WARN $(pkg-config --cflags etcd-mbedtls) ${4:-} -o "$t/$2" "$1" $(pkg-config --libs etcd-mbedtls) ${5:-} || return 1
    out=$("$t/$2") || return 1
    case "$out" in "$3"*) ;; *) echo "$2 printed '$out', want '$3...'"; return 1;; esac
}
pc_mbedtls_ok() {
    pkg-config --validate etcd-mbedtls || return 1
    v=$(pkg-config --modversion etcd-mbedtls) && [ "$v" = "$version" ] || { echo "etcd-mbedtls: version '$v'"; return 1; }
    c=$(pkg-config --cflags etcd-mbedtls | sed 's/[[:space:]]*$//')
    case " $c " in *" -DETCD_USE_MBEDTLS "*) ;; *) echo "etcd-mbedtls: cflags '$c'"; return 1;; esac
    case " $c " in *" -I$stage/usr/include "*) ;; *) echo "etcd-mbedtls: cflags '$c'"; return 1;; esac
    # all three, in the order a static link needs; nothing else
    l=$(pkg-config --libs etcd-mbedtls | sed 's/[[:space:]]*$//')
    [ "$l" = "-lmbedtls -lmbedx509 -lmbedcrypto" ] || { echo "etcd-mbedtls: libs '$l'"; return 1; }
    if [ -n "$have_mbedtls" ]; then
        mbedtls_pc_build tests/consumer/mbedtls_version.c pc_mbedtls_version "mbedTLS 2.28." || return 1
        echo "system: $out"
    fi
    if [ -n "$have_mbedtls36" ]; then
        mbedtls_pc_build tests/consumer/mbedtls_version.c pc_mbedtls36_version "mbedTLS 3.6." \
            "$m36flags" "$m36libs" || return 1
        echo "build/mbedtls36: $out"
    fi
}
what="-DETCD_USE_MBEDTLS, exactly -lmbedtls -lmbedx509 -lmbedcrypto"
[ -n "$have_mbedtls" ] && what="$what; links mbedTLS 2.28"
[ -n "$have_mbedtls36" ] && what="$what; links mbedTLS 3.6 (build/mbedtls36)"
check "pkg-config etcd-mbedtls: $what" "$t/log/pc-mbedtls" pc_mbedtls_ok
[ -n "$have_mbedtls" ] || echo "skip pkg-config etcd-mbedtls with mbedTLS 2.28: no mbedTLS headers (make deps)"
[ -n "$have_mbedtls36" ] || echo "skip pkg-config etcd-mbedtls with mbedTLS 3.6: no build/mbedtls36 (make deps)"

name="pkg-config etcd-mbedtls: consumer (ETCD_IMPLEMENTATION, https://) builds and runs"
pc_mbedtls_impl_ok() {
    if [ -n "$have_mbedtls" ]; then
        mbedtls_pc_build tests/consumer/main.c pc_consumer_mbedtls "$expect_tls" || return 1
    fi
    if [ -n "$have_mbedtls36" ]; then
        mbedtls_pc_build tests/consumer/main.c pc_consumer_mbedtls36 "$expect_tls" "$m36flags" "$m36libs" || return 1
    fi
}
if [ -z "$have_mbedtls$have_mbedtls36" ]; then
    echo "skip $name: no mbedTLS (make deps)"
else
    check "$name, mbedTLS${have_mbedtls:+ 2.28}${have_mbedtls36:+ 3.6}" "$t/log/pc-mbedtls-impl" pc_mbedtls_impl_ok
fi
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

# 5. the consumer, through CMake
# cmake_build SRC DIR -D...: configure, build, run consumer and what else
# was built (consumer_tls, consumer_mbedtls: https; mbedtls_version: the
# mbedTLS version $mbedtls_want, e.g. 2.28 or 3.6).
mbedtls_want=
cmake_build() {
    src=$1; dir=$2; shift 2
    # shellcheck disable=SC2086
    cmake $gen -S "$src" -B "$dir" -DCMAKE_C_FLAGS="$WARN" -DCONSUMER_MBEDTLS=ON "$@" || return 1
    cmake --build "$dir" || return 1
    out=$("$dir/consumer") && [ "$out" = "$expect_plain" ] || { echo "consumer printed '$out'"; return 1; }
    for p in consumer_tls consumer_mbedtls; do
        [ -e "$dir/$p" ] || continue
        out=$("$dir/$p") && [ "$out" = "$expect_tls" ] || { echo "$p printed '$out'"; return 1; }
    done
    if [ -e "$dir/mbedtls_version" ]; then
        out=$("$dir/mbedtls_version") || { echo "mbedtls_version failed"; return 1; }
        case "$out" in "mbedTLS $mbedtls_want."*) echo "mbedtls_version: $out";;
            *) echo "mbedtls_version printed '$out', want mbedTLS $mbedtls_want.x"; return 1;; esac
    fi
}
# built_ok DIR: the TLS targets were there whenever their library is
built_ok() {
    if [ -n "$have_ssl" ] && [ ! -x "$1/consumer_tls" ]; then
        echo "OpenSSL is here but no etcd::etcd_tls"; return 1
    fi
    if [ -n "$have_mbedtls" ] && [ ! -x "$1/mbedtls_version" ]; then
        echo "mbedTLS is here but no etcd::etcd_mbedtls"; return 1
    fi
    if [ -n "$have_mbedtls" ] && [ ! -x "$1/consumer_mbedtls" ]; then
        echo "no consumer_mbedtls"; return 1
    fi
}
subdir_ok() {
    mbedtls_want=2.28
    cmake_build tests/consumer "$t/cmake-subdir" -DETCD_FROM=subdir -DETCD_DIR="$repo" || return 1
    built_ok "$t/cmake-subdir" || return 1
    # the repository's own tests or examples must not be CMake targets
    ! grep -rlE 'test_[a-z]+|etcdctl_lite' "$t/cmake-subdir/etcd" 2>/dev/null | grep -q .
}
what="etcd::etcd"
[ -n "$have_ssl" ] && what="$what, etcd::etcd_tls"
[ -n "$have_mbedtls" ] && what="$what, etcd::etcd_mbedtls (mbedTLS 2.28$mb_impl)"
check "CMake add_subdirectory: $what, consumers build and run" "$t/log/cmake-subdir" subdir_ok

fetch_ok() {
    src=$t/archive/etcd.h-$version
    # what a release archive holds of what CMakeLists.txt uses
    mkdir -p "$src" && cp -R etcd.h CMakeLists.txt LICENSE ./*.pc.in cmake "$src/" &&
    tar -C "$t/archive" -czf "$t/etcd.h-$version.tar.gz" "etcd.h-$version" || return 1
    cmake_build tests/consumer "$t/cmake-fetch" -DETCD_FROM=fetch -DETCD_URL="file://$t/etcd.h-$version.tar.gz" \
        -DCMAKE_DISABLE_FIND_PACKAGE_OpenSSL=ON -DCMAKE_DISABLE_FIND_PACKAGE_MbedTLS=ON || return 1
    [ -f "$t/cmake-fetch/_deps/etcd-src/etcd.h" ] || { echo "FetchContent did not unpack the archive"; return 1; }
    [ ! -e "$t/cmake-fetch/consumer_tls" ] || { echo "etcd::etcd_tls defined without OpenSSL"; return 1; }
    [ ! -e "$t/cmake-fetch/mbedtls_version" ] || { echo "etcd::etcd_mbedtls defined without mbedTLS"; return 1; }
}
check "CMake FetchContent (file:// archive), OpenSSL and mbedTLS not found: etcd::etcd only, consumer builds and runs" \
    "$t/log/cmake-fetch" fetch_ok

# 5b. find_package(etcd CONFIG REQUIRED): tests/consumer as a project of its
# own, outside this tree (etcd.h only from the staged install), with the
# stage on CMAKE_PREFIX_PATH as a user's prefix would be.
cp -R tests/consumer "$t/consumer"
package_ok() {  # package_ok DIR CMAKE_PREFIX_PATH
    cmake_build "$t/consumer" "$1" -DETCD_FROM=package -DCMAKE_PREFIX_PATH="$2" || return 1
    d=$(sed -n 's/^etcd_DIR:PATH=//p' "$1/CMakeCache.txt")
    [ "$d" = "$cmdir" ] || { echo "etcd_DIR is '$d', want $cmdir"; return 1; }
    built_ok "$1"
}
what="etcd::etcd"
[ -n "$have_ssl" ] && what="$what, etcd::etcd_tls"
[ -n "$have_mbedtls" ] && what="$what, etcd::etcd_mbedtls (mbedTLS 2.28$mb_impl)"
mbedtls_want=2.28
check "CMake find_package(etcd CONFIG REQUIRED), staged install, consumer outside the tree: $what, consumers build and run" \
    "$t/log/cmake-package" package_ok "$t/cmake-package" "$stage/usr"

# mbedTLS 3.6 found through its own CMake package (MbedTLS::mbedtls ...)
package36_ok() {
    package_ok "$t/cmake-package36" "$stage/usr;$m36" || return 1
    grep -q "^MbedTLS_DIR:PATH=$m36/" "$t/cmake-package36/CMakeCache.txt" || { echo "MbedTLS package not used"; return 1; }
    [ -x "$t/cmake-package36/mbedtls_version" ] || { echo "no etcd::etcd_mbedtls"; return 1; }
}
name="CMake find_package(etcd CONFIG REQUIRED) with mbedTLS 3.6 (build/mbedtls36, its MbedTLS package): etcd::etcd_mbedtls"
if [ -n "$have_mbedtls36" ]; then
    mbedtls_want=3.6
    check "$name$mb_impl, builds and runs" "$t/log/cmake-package36" package36_ok
else
    echo "skip $name: no build/mbedtls36 (make deps)"
fi

# find_package(etcd <version>): which versions the staged etcdConfigVersion.cmake
# accepts (README.md's Versioning: before 1.0 the minor must match), and
# that a missing OpenSSL or mbedTLS only leaves their targets out, unless
# named as a required component.
mkdir -p "$t/fp"
cat > "$t/fp/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.14)
project(fp LANGUAGES C)
set(out "")
foreach(want IN LISTS WANTS)
  unset(etcd_DIR CACHE)
  if(want STREQUAL "-")
    find_package(etcd CONFIG QUIET)
  else()
    find_package(etcd ${want} CONFIG QUIET)
  endif()
  string(APPEND out "${want}=${etcd_FOUND} ")
endforeach()
foreach(t etcd etcd_tls etcd_mbedtls)
  if(TARGET etcd::${t})
    string(APPEND out "etcd::${t} ")
  endif()
endforeach()
unset(etcd_DIR CACHE)
find_package(etcd CONFIG QUIET COMPONENTS ${COMPONENTS})
string(APPEND out "components=${etcd_FOUND}")
file(WRITE "${CMAKE_BINARY_DIR}/result" "${out}")
EOF
find_package_ok() {
    maj=${version%%.*}; min=${version#*.}; min=${min%%.*}
    accept="- $maj.$min $version $maj.$min...$maj.$((min + 1))"
    refuse="$maj.$((min + 1)) $((maj + 1)).0 $((maj + 1)).0...$((maj + 2)).0"
    if [ "$min" -gt 0 ]; then
        if [ "$maj" -eq 0 ]; then refuse="$refuse 0.$((min - 1))"; else accept="$accept $maj.$((min - 1))"; fi
    fi
    want=""; for v in $accept; do want="$want$v=1 "; done
    for v in $refuse; do want="$want$v=0 "; done
    wants=$(echo "$accept $refuse" | tr ' ' ';')
    # shellcheck disable=SC2086
    cmake $gen -S "$t/fp" -B "$t/fp-all" -DCMAKE_PREFIX_PATH="$stage/usr" -DWANTS="$wants" \
        -DCOMPONENTS="tls;mbedtls" || return 1
    got=$(cat "$t/fp-all/result")
    exp="${want}etcd::etcd"
    [ -n "$have_ssl" ] && exp="$exp etcd::etcd_tls"
    [ -n "$have_mbedtls" ] && exp="$exp etcd::etcd_mbedtls"
    exp="$exp components=$([ -n "$have_ssl" ] && [ -n "$have_mbedtls" ] && echo 1 || echo 0)"
    [ "$got" = "$exp" ] || { echo "got:  $got"; echo "want: $exp"; return 1; }
    # OpenSSL and mbedTLS not to be found: found, no TLS target; the
    # component mbedtls, required, makes it not found
    # shellcheck disable=SC2086
    cmake $gen -S "$t/fp" -B "$t/fp-none" -DCMAKE_PREFIX_PATH="$stage/usr" -DWANTS="-" -DCOMPONENTS=mbedtls \
        -DCMAKE_DISABLE_FIND_PACKAGE_OpenSSL=ON -DCMAKE_DISABLE_FIND_PACKAGE_MbedTLS=ON || return 1
    got=$(cat "$t/fp-none/result")
    [ "$got" = "-=1 etcd::etcd components=0" ] || { echo "without TLS libraries: $got"; return 1; }
}
check "find_package(etcd): version $version accepts ${version%.*} and refuses other minors and majors; no OpenSSL/mbedTLS: found, no TLS targets; COMPONENTS mbedtls then not found" \
    "$t/log/find-package" find_package_ok

# 6. make uninstall
uninstall_ok() {
    make --no-print-directory uninstall DESTDIR="$stage" PREFIX=/usr || return 1
    left=$(find "$stage" -type f)
    [ -z "$left" ] || { echo "left behind: $left"; return 1; }
    [ ! -e "$cmdir" ] || { echo "left behind: $cmdir"; return 1; }
}
check "make uninstall removes them" "$t/log/uninstall" uninstall_ok

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
