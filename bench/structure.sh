#!/bin/sh
# bench/structure.sh - structural figures of etcd.h, one line a figure:
# its lines; its functions and those over 30 lines (with the 10 longest);
# the fields of struct etcd_watcher; the ETCD__RQ_* request flags; and the
# repeated blocks of six or more lines in etcd.h and in examples/ (as the
# `duplicates` command reports them).
#
#   sh bench/structure.sh          the tree this script is in
#   sh bench/structure.sh DIR      another checkout (DIR/etcd.h, DIR/examples/)
#
# Uses only sh, coreutils, grep, awk and `duplicates` (when that is not on
# PATH, its two figures say n/a). Reads files, writes only a temp dir.
#
# What counts:
# - a function: a definition that starts at column 0 with `static` or
#   `ETCDDEF` (the header may go on over further lines) and has a body; its
#   length runs from the header's first line to the `}` at column 0 that
#   closes it (a body closed on its header line is that one line).
#   Prototypes and variables (`;` or `=` before the body) are not functions.
#   Comments and string and character literals are blanked first.
# - a field of struct etcd_watcher: each declarator of a member declared
#   directly inside its braces (`bool a, b;` is 2; a member whose type is a
#   struct, named or inline, is 1). Both sides of an #if count.
# - an ETCD__RQ_ flag: an enumerator named ETCD__RQ_* in an enum.
# - repeated blocks: the pairs of places `duplicates` counts (six or more
#   identical or same-shape lines) in etcd.h alone (a copy of it alone in a
#   temp dir) and in examples/ alone (`duplicates --repo DIR/examples`).
set -u
if [ $# -gt 1 ] || [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
    echo "usage: sh bench/structure.sh [DIR]   (DIR: a checkout; default: this repo)" >&2
    exit 2
fi
if [ $# -eq 1 ]; then DIR=$1
else DIR=$(cd "$(dirname "$0")/.." && pwd) || exit 1; fi
H=$DIR/etcd.h
[ -f "$H" ] || { echo "structure: no $H" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/etcdh-structure-XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "structure of $H"
echo "lines of etcd.h: $(wc -l <"$H" | tr -d ' ')"

# One pass over etcd.h with comments and literals blanked (line numbers kept).
# Writes "F <lines> <first line> <name>" per function, "W <n>" for the
# watcher's fields (absent: no such struct), "R <n>" for the flags.
awk '
function clean(s,   out, i, n, c, q) {
    if (!incom && s !~ /[\/"'"'"']/) return s
    out = ""; n = length(s); i = 1
    while (i <= n) {
        c = substr(s, i, 1)
        if (incom) {
            if (c == "*" && substr(s, i + 1, 1) == "/") { incom = 0; out = out " "; i += 2 }
            else i++
            continue
        }
        if (c == "/" && substr(s, i + 1, 1) == "*") { incom = 1; i += 2; continue }
        if (c == "/" && substr(s, i + 1, 1) == "/") break
        if (c == "\"" || c == "'"'"'") {
            q = c; i++
            while (i <= n) {
                c = substr(s, i, 1)
                if (c == "\\") { i += 2; continue }
                if (c == q) break
                i++
            }
            out = out q q; i++
            continue
        }
        out = out c; i++
    }
    return out
}
# The count of character ch in s.
function count(s, ch,   n, i) {
    n = 0
    for (i = 1; i <= length(s); i++) if (substr(s, i, 1) == ch) n++
    return n
}
# The name of the function whose header (up to its body) is h.
function fname(h,   p, name) {
    gsub(/__attribute__[ \t]*\(\([^)]*\)\)/, " ", h)
    p = index(h, "(")
    if (!p) return ""
    name = substr(h, 1, p - 1)
    sub(/[ \t]+$/, "", name)
    if (!match(name, /[A-Za-z_][A-Za-z0-9_]*$/)) return ""
    return substr(name, RSTART, RLENGTH)
}
# Declarators in one member declaration (inner braces already removed).
function declarators(s,   n, i, c, d) {
    gsub(/[ \t]+/, " ", s)
    if (s ~ /^ *;? *$/) return 0
    n = 1; d = 0
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c == "(" || c == "[") d++
        else if (c == ")" || c == "]") d--
        else if (c == "," && d == 0) n++
    }
    return n
}
BEGIN { fst = 0; wst = 0; wfields = 0; wfound = 0; inenum = 0; rq = 0 }
{
    line = clean($0)

    # ---- functions
    if (fst == 0 && line ~ /^(static|ETCDDEF)([ \t]|$)/) { fst = 1; hdr = ""; fstart = NR }
    if (fst == 1) {
        hdr = hdr " " line
        pb = index(hdr, "{"); ps = index(hdr, ";"); pe = index(hdr, "=")
        if (ps && (!pb || ps < pb)) fst = 0                     # a prototype or a variable
        else if (pb) {
            head = substr(hdr, 1, pb - 1)
            if ((pe && pe < pb) || fname(head) == "") fst = 0    # = { ...: a variable
            else {
                name = fname(head)
                rest = substr(hdr, pb)
                if (count(rest, "{") == count(rest, "}")) {      # closed on its header line
                    print "F", NR - fstart + 1, fstart, name; fst = 0
                } else fst = 2
            }
        }
    } else if (fst == 2 && line ~ /^}/) {
        print "F", NR - fstart + 1, fstart, name; fst = 0
    }

    # ---- struct etcd_watcher
    if (wst == 0 && line ~ /^[ \t]*(typedef[ \t]+)?struct[ \t]+etcd_watcher([ \t]*\{|[ \t]*$)/) {
        wst = 1; wdepth = 0; stmt = ""; wfound = 1
        sub(/^.*struct[ \t]+etcd_watcher/, "", line)
    }
    if (wst == 1 && line !~ /^[ \t]*#/) {
        for (i = 1; i <= length(line); i++) {
            c = substr(line, i, 1)
            if (c == "{") { wdepth++; if (wdepth == 1) stmt = ""; continue }
            if (c == "}") {
                wdepth--
                if (wdepth == 0) { wst = 2; break }
                continue
            }
            if (wdepth == 1) {
                if (c == ";") { wfields += declarators(stmt); stmt = "" }
                else stmt = stmt c
            }
        }
        if (wst == 1 && wdepth == 0 && line ~ /;/) { wst = 0; wfound = 0 }   # a declaration only
        if (wdepth == 1) stmt = stmt " "
    }

    # ---- ETCD__RQ_ enumerators
    t = line
    if (!inenum && t ~ /(^|[^A-Za-z0-9_])enum([^A-Za-z0-9_]|$)/) { inenum = 1; edepth = 0; seen = 0 }
    if (inenum) {
        if (!seen) {
            p = index(t, "{")
            if (!p) { if (t ~ /;/) inenum = 0; next }
            seen = 1; t = substr(t, p + 1)
        }
        q = index(t, "}")
        if (q) { t = substr(t, 1, q - 1); inenum = 0 }
        if (t !~ /^[ \t]*#/) {
            n = split(t, parts, ",")
            for (k = 1; k <= n; k++) if (parts[k] ~ /^[ \t]*ETCD__RQ_[A-Za-z0-9_]*([ \t]*=.*)?[ \t]*$/) rq++
        }
    }
}
END {
    if (wfound) print "W", wfields
    print "R", rq
}' "$H" >"$TMP/facts"

grep '^F ' "$TMP/facts" | sort -k2,2nr -k3,3n >"$TMP/funcs"
nf=$(wc -l <"$TMP/funcs" | tr -d ' ')
nlong=$(awk '$2 > 30' "$TMP/funcs" | wc -l | tr -d ' ')
echo "functions in etcd.h: $nf"
echo "functions over 30 lines: $nlong"
echo "the 10 longest functions (lines, first line, name):"
head -n 10 "$TMP/funcs" | awk '{ printf "  %5d  etcd.h:%-5d %s\n", $2, $3, $4 }'
w=$(awk '$1 == "W" { print $2 }' "$TMP/facts")
echo "fields of struct etcd_watcher: ${w:-n/a (no struct etcd_watcher with a body)}"
echo "ETCD__RQ_ flags defined: $(awk '$1 == "R" { print $2 }' "$TMP/facts")"

# dups LABEL DIR: the pairs `duplicates` reports under DIR, as one figure.
dups() {
    if ! command -v duplicates >/dev/null 2>&1; then
        echo "repeated blocks (6+ lines, pairs) in $1: n/a (no duplicates command on PATH)"
        return
    fi
    duplicates --repo "$2" --most 200 --seconds 120 >"$TMP/dups" 2>&1
    first=$(head -n 1 "$TMP/dups")
    note=
    case $first in
        "no duplicates"*) n=0 ;;
        [0-9]*" pair"*)
            n=${first%% *}
            shape=$(echo "$first" | awk 'match($0, /[0-9]+ by shape alone/) { print substr($0, RSTART, RLENGTH - 15) }')
            [ -n "$shape" ] && note=" ($shape by shape alone)" ;;
        *"no file that counts was read"*) n=0; note=" (no source file there)"; first= ;;
        *) n="n/a ($first)"; first= ;;
    esac
    # time ran out or the tree was too large: the count is of what was read
    [ -n "$first" ] && grep -q '^incomplete:' "$TMP/dups" && note="$note; $(grep -m1 '^incomplete:' "$TMP/dups")"
    echo "repeated blocks (6+ lines, pairs) in $1: $n$note"
    awk '/^D[0-9]/ { print "  " $0 }' "$TMP/dups"
}
mkdir "$TMP/h"
cp "$H" "$TMP/h/etcd.h"
dups etcd.h "$TMP/h"
if [ -d "$DIR/examples" ]; then dups examples/ "$DIR/examples"
else echo "repeated blocks (6+ lines, pairs) in examples/: n/a (no $DIR/examples)"; fi
