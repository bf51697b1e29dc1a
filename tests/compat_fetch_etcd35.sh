#!/bin/sh
# Fetch etcd 3.5 (Debian 13 "trixie": etcd-server, etcd-client) into
# build/etcd35/ beside the system's etcd 3.4, for `make test-compat`.
#
# The packages come from the same Debian mirror this machine's apt sources
# already use (the URIs of /etc/apt/sources.list.d/*.sources or
# /etc/apt/sources.list; no host name is written here), through an apt
# configuration of its own under build/etcd35-apt/ (sources list, lists,
# caches): the system's apt state and its etcd stay as they are. Nothing is
# installed: the .debs are unpacked with dpkg-deb -x.
#
# Idempotent: does nothing when build/etcd35/usr/bin/etcd runs and says
# 3.5. apt-get runs as root, or through sudo.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
dest=$top/build/etcd35
aptdir=$top/build/etcd35-apt
suite=${ETCD35_SUITE:-trixie}

is35() {
    [ -x "$dest/usr/bin/etcd" ] &&
        "$dest/usr/bin/etcd" --version 2>/dev/null | head -n 1 | grep -q 'Version: 3\.5\.'
}

if is35 && [ -x "$dest/usr/bin/etcdctl" ]; then
    echo "etcd35: $("$dest/usr/bin/etcd" --version | head -n 1) in build/etcd35 (already there)"
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
    echo "etcd35: no Debian archive URI in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list" >&2
    exit 1
fi
uri=${uri%/}
[ -n "$keyring" ] && [ -r "$keyring" ] || keyring=/usr/share/keyrings/debian-archive-keyring.gpg
echo "etcd35: fetching etcd-server, etcd-client ($suite) from the configured mirror $uri"

SUDO=$( [ "$(id -u)" -eq 0 ] || echo sudo )
$SUDO rm -rf "$aptdir/debs"               # may be _apt's from an earlier run
mkdir -p "$aptdir/parts" "$aptdir/state/lists/partial" "$aptdir/cache/archives/partial" "$aptdir/debs"
cat > "$aptdir/sources.list" <<EOF
# written by tests/compat_fetch_etcd35.sh: the release after the system's, same mirror
deb [signed-by=$keyring] $uri $suite main
EOF

# Dir::State::status stays the system's dpkg status (read only); everything
# apt writes goes below build/etcd35-apt/; no pinning of the system's applies.
set -- -q -o Dir::Etc::SourceList="$aptdir/sources.list" \
    -o Dir::Etc::SourceParts="$aptdir/parts" \
    -o Dir::Etc::Preferences="$aptdir/preferences" -o Dir::Etc::PreferencesParts="$aptdir/parts" \
    -o Dir::State="$aptdir/state" -o Dir::Cache="$aptdir/cache" \
    -o Dir::State::status=/var/lib/dpkg/status
$SUDO apt-get "$@" update
# apt downloads as its unprivileged user _apt: let it write the .debs there
if id _apt >/dev/null 2>&1; then $SUDO chown _apt "$aptdir/debs"; fi
(cd "$aptdir/debs" && $SUDO apt-get "$@" download etcd-server etcd-client)

rm -rf "$dest"
mkdir -p "$dest"
for deb in "$aptdir"/debs/etcd-server_*.deb "$aptdir"/debs/etcd-client_*.deb; do
    [ -f "$deb" ] || { echo "etcd35: apt-get download left no $deb" >&2; exit 1; }
    echo "etcd35: unpacking $(basename "$deb")"
    dpkg-deb -x "$deb" "$dest"
done
if [ -n "$SUDO" ]; then $SUDO chown -R "$(id -u):$(id -g)" "$aptdir" "$dest"; fi

if ! is35; then
    echo "etcd35: build/etcd35/usr/bin/etcd is not etcd 3.5:" >&2
    "$dest/usr/bin/etcd" --version >&2 || true
    exit 1
fi
[ -x "$dest/usr/bin/etcdctl" ] || { echo "etcd35: no etcdctl in etcd-client" >&2; exit 1; }
echo "etcd35: $("$dest/usr/bin/etcd" --version | head -n 1), $("$dest/usr/bin/etcdctl" version | head -n 1) in build/etcd35"
