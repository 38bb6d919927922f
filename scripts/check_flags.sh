#!/usr/bin/env bash
# check_flags.sh - a user's flags add to the project's, never replace them:
# `make CFLAGS=... CPPFLAGS=... LDFLAGS=...` (release, SAN=1 and fuzz builds)
# must still compile every file with -std=c11 -Wall -Wextra -Werror, with the
# user's flags after the project's, and link with the user's LDFLAGS. Reads
# `make -n -B` (nothing is built). Prints TAP, one case per build.
set -uo pipefail
cd "$(dirname "$0")/.."

n=0 bad=0
# check NAME MAKEARGS...: every compile line ("-c -o") carries the project's
# flags and -DCAIRN_USER_FLAG (from CFLAGS) and -DCAIRN_USER_CPP (CPPFLAGS)
# after -Werror; every link line of a program or library carries
# -Wl,--as-needed-cairn-user (from LDFLAGS, only printed, never run).
check() {
    local name=$1; shift
    n=$((n + 1))
    local out why=""
    out=$(make -n -B CFLAGS=-DCAIRN_USER_FLAG CPPFLAGS=-DCAIRN_USER_CPP LDFLAGS=-Wl,-cairn-user-ld "$@" 2>&1) ||
        why="make -n failed: $(tail -1 <<<"$out")"
    local compiles links
    compiles=$(grep -E '(^| )-c -o ' <<<"$out")
    links=$(grep -E '(^| )-o [^ ]*(/cairn|\.so|/tests/[a-z_]+|/fuzz/fuzz_[a-z]+)( |$)' <<<"$out" | grep -v ' -c ')
    [ -z "$why" ] && [ -z "$compiles" ] && why="no compile line"
    [ -z "$why" ] && [ -z "$links" ] && why="no link line"
    local l
    while [ -z "$why" ] && IFS= read -r l; do
        for f in -std=c11 -Wall -Wextra -Werror -DCAIRN_USER_FLAG -DCAIRN_USER_CPP; do
            [[ " $l " == *" $f "* ]] || { why="$f missing: $l"; break; }
        done
        [[ "$l" == *-Werror*-DCAIRN_USER_FLAG* ]] || why="CFLAGS before the project's flags: $l"
    done <<<"$compiles"
    while [ -z "$why" ] && IFS= read -r l; do
        [[ " $l " == *" -Wl,-cairn-user-ld "* ]] || why="LDFLAGS missing: $l"
    done <<<"$links"
    if [ -z "$why" ]; then
        echo "ok $n - make $* with CFLAGS/CPPFLAGS/LDFLAGS: $(wc -l <<<"$compiles") compiles keep -Werror and add the user's flags, $(wc -l <<<"$links") links take LDFLAGS"
    else
        echo "not ok $n - make $* with CFLAGS/CPPFLAGS/LDFLAGS: $why"
        bad=1
    fi
}
check release all units
check asan SAN=1 all units
if command -v "${FUZZCC:-clang}" >/dev/null; then check fuzz fuzz; fi
exit $bad
