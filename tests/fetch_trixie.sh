#!/bin/sh
# Fetch a named set of Debian 13 "trixie" packages into build/<set>/,
# beside what the system (Debian 12) has:
#   sh tests/fetch_trixie.sh etcd35      etcd-server, etcd-client (etcd 3.5,
#                                        for `make test-compat`; mk/etcd35.mk)
#   sh tests/fetch_trixie.sh mbedtls36   libmbedtls-dev, libmbedtls21,
#                                        libmbedx509-7, libmbedcrypto16
#                                        (mbedTLS 3.6; mk/mbedtls.mk)
# `make deps` runs both.
#
# The packages come from the same Debian mirror this machine's apt sources
# already use (the URIs of /etc/apt/sources.list.d/*.sources or
# /etc/apt/sources.list; no host name is written here), through an apt
# configuration of its own under build/<set>-apt/ (sources list, lists,
# caches): the system's apt state and its packages stay as they are.
# Nothing is installed: the .debs are unpacked with dpkg-deb -x into
# build/<set>/ (so build/etcd35/usr/bin/etcd, build/mbedtls36/usr/include).
#
# Idempotent: does nothing when build/<set>/ already holds the wanted
# version (the set's have() below says so). apt-get runs as root, or
# through sudo. A new set is one more case below: its packages, and a
# have() that prints what is there and succeeds only when it is right.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
suite=${TRIXIE_SUITE:-trixie}

[ $# -eq 1 ] || { echo "usage: $0 etcd35|mbedtls36" >&2; exit 2; }
set_name=$1
dest=$top/build/$set_name
aptdir=$top/build/$set_name-apt

case $set_name in
etcd35)
    pkgs="etcd-server etcd-client"
    # etcd and etcdctl run, and both say 3.5
    have() {
        [ -x "$dest/usr/bin/etcd" ] && [ -x "$dest/usr/bin/etcdctl" ] || return 1
        v=$("$dest/usr/bin/etcd" --version 2>/dev/null | head -n 1) &&
            c=$("$dest/usr/bin/etcdctl" version 2>/dev/null | head -n 1) || return 1
        echo "$v, $c"
        case "$v" in *"Version: 3.5."*) ;; *) return 1;; esac
        case "$c" in *"version: 3.5."*) ;; *) return 1;; esac
    } ;;
mbedtls36)
    pkgs="libmbedtls-dev libmbedtls21 libmbedx509-7 libmbedcrypto16"
    # build_info.h (3.x only) says 3.6, and the static libraries are there
    have() {
        h=$dest/usr/include/mbedtls/build_info.h
        [ -r "$h" ] || return 1
        v=$(sed -n 's/^#define[[:space:]]*MBEDTLS_VERSION_STRING[[:space:]]*"\([^"]*\)".*/\1/p' "$h")
        echo "mbedTLS $v"
        case "$v" in 3.6.*) ;; *) return 1;; esac
        for l in mbedtls mbedx509 mbedcrypto; do
            ls "$dest"/usr/lib/*/lib$l.a >/dev/null 2>&1 || { echo "(no lib$l.a)"; return 1; }
        done
    } ;;
*)
    echo "$0: no package set '$set_name' (etcd35, mbedtls36)" >&2; exit 2 ;;
esac

if what=$(have); then
    echo "$set_name: $what in build/$set_name (already there)"
    exit 0
fi

# The main Debian archive URI (not -security/-updates/backports) of the
# configured sources: deb822 "URIs:" of a stanza whose Suites name the
# release itself, else a one-line "deb URI suite ..." entry.
uri=""; keyring=""
for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    # stanzas are separated by blank lines; print "URI KEYRING" of the first
    # deb stanza with a plain suite (no '-' in it) and a debian archive URI.
    found=$(awk '
        function flush() {
            if (types ~ /(^| )deb( |$)/ && plain && uris != "") { print uris " " signed; exit }
            types = ""; uris = ""; signed = ""; plain = 0
        }
        /^[ \t]*#/ { next }
        /^[ \t]*$/ { flush(); next }
        tolower($1) == "types:" { types = ""; for (i = 2; i <= NF; i++) types = types " " $i; types = types " " }
        tolower($1) == "uris:" { for (i = 2; i <= NF; i++) if ($i !~ /-security\/?$/ && uris == "") uris = $i }
        tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i !~ /-/) plain = 1 }
        tolower($1) == "signed-by:" && NF == 2 { signed = $2 }
        END { flush() }' "$f")
    if [ -n "$found" ]; then
        uri=${found%% *}; keyring=${found#* }
        [ "$keyring" = "$found" ] && keyring=""
        break
    fi
done
if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
    # deb [opts] URI suite components...
    uri=$(awk '$1 == "deb" {
            i = 2; if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
            if ($(i+1) !~ /-/ && $i !~ /-security\/?$/) { print $i; exit } }' /etc/apt/sources.list)
fi
if [ -z "$uri" ]; then
    echo "$set_name: no Debian archive URI in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list" >&2
    exit 1
fi
uri=${uri%/}
[ -n "$keyring" ] && [ -r "$keyring" ] || keyring=/usr/share/keyrings/debian-archive-keyring.gpg
echo "$set_name: fetching $pkgs ($suite) from the configured mirror $uri"

SUDO=$( [ "$(id -u)" -eq 0 ] || echo sudo )
$SUDO rm -rf "$aptdir/debs"               # may be _apt's from an earlier run
mkdir -p "$aptdir/parts" "$aptdir/state/lists/partial" "$aptdir/cache/archives/partial" "$aptdir/debs"
cat > "$aptdir/sources.list" <<EOT
# written by tests/fetch_trixie.sh: the release after the system's, same mirror
deb [signed-by=$keyring] $uri $suite main
EOT

# Dir::State::status stays the system's dpkg status (read only); everything
# apt writes goes below build/<set>-apt/; no pinning of the system's applies.
set -- -q -o Dir::Etc::SourceList="$aptdir/sources.list" \
    -o Dir::Etc::SourceParts="$aptdir/parts" \
    -o Dir::Etc::Preferences="$aptdir/preferences" -o Dir::Etc::PreferencesParts="$aptdir/parts" \
    -o Dir::State="$aptdir/state" -o Dir::Cache="$aptdir/cache" \
    -o Dir::State::status=/var/lib/dpkg/status
$SUDO apt-get "$@" update
# apt downloads as its unprivileged user _apt: let it write the .debs there
if id _apt >/dev/null 2>&1; then $SUDO chown _apt "$aptdir/debs"; fi
# shellcheck disable=SC2086  # $pkgs: one word per package
(cd "$aptdir/debs" && $SUDO apt-get "$@" download $pkgs)

rm -rf "$dest"
mkdir -p "$dest"
for p in $pkgs; do
    # apt-get download names the file <package>_<version>_<arch>.deb
    deb=
    for f in "$aptdir"/debs/"$p"_*.deb; do if [ -f "$f" ]; then deb=$f; fi; done
    [ -n "$deb" ] || { echo "$set_name: apt-get download left no ${p}_*.deb" >&2; exit 1; }
    echo "$set_name: unpacking $(basename "$deb")"
    dpkg-deb -x "$deb" "$dest"
done
if [ -n "$SUDO" ]; then $SUDO chown -R "$(id -u):$(id -g)" "$aptdir" "$dest"; fi

if ! what=$(have); then
    echo "$set_name: build/$set_name does not hold what was asked for: ${what:-nothing}" >&2
    exit 1
fi
echo "$set_name: $what in build/$set_name"
