#!/usr/bin/env bash
# check_layers.sh - check on the built objects that a layer calls only the
# layers below it (docs: /ARCHITECTURE.md, "a lower layer never calls a higher
# one"). For every object built from src/<layer>/*.c its undefined symbols
# (nm -u) are looked up among the symbols the project's objects define
# (nm --defined-only): that is a call from one file to another. The same rule
# is checked on the `#include "../<layer>/..."` lines of the .c files.
#
# The rules (a layer may always use itself):
#   http/       -> api/ util/                     (never store/ artifacts/ jobs/ auth/)
#   api/        -> auth/ jobs/ store/ artifacts/ util/
#   jobs/       -> store/ artifacts/ util/
#   store/      -> util/
#   artifacts/  -> util/
#   auth/       -> store/ util/
#   util/       -> nothing
#   client/     -> util/fmt17.c util/runstatus.c only (libcairn, objects in
#                  BUILD/pic/src/client; the two util files it links)
#   cli/        -> client/ util/, and jobs/ for `cairn run`/`cairn submit`
#                  (ARCHITECTURE.md: "thin glue over client/ (and over jobs/
#                  for `cairn run`, like `mlflow run`)")
#   cli/server.c (`cairn server`) -> anything
#   cli/server_auth.c (its --auth half) -> api/ auth/ store/ util/
#
# Usage: scripts/check_layers.sh [BUILD]   objects of BUILD (default build),
#                                           sources of ./src; run after `make`
#        scripts/check_layers.sh --root DIR [BUILD]   sources of DIR/src
#        scripts/check_layers.sh --self-test   the checker on tests/layers/
# Output is TAP: one "ok"/"not ok" line per rule (calls and includes of each
# layer), then one line per violation: "  src/A/f.c calls SYM (src/B/g.c): ...".
# Exits 1 if any rule is broken.
set -uo pipefail
cd "$(dirname "$0")/.."

declare -A allow=(
    [http]="api util"
    [api]="auth jobs store artifacts util"
    [jobs]="store artifacts util"
    [store]="util"
    [artifacts]="util"
    [auth]="store util"
    [util]=""
    [client]="util/fmt17 util/runstatus"
    [cli]="client util jobs"
    [cli/server]="ANY"
    [cli/server_auth]="api auth store util"
)
layers=(http api jobs store artifacts auth util client cli)

# allowed FROM TARGET: FROM is a layer or layer/file (no .c), TARGET is
# layer/file; a rule names a layer (util) or one file (util/fmt17).
allowed() {
    local from=$1 to=$2 rules a
    [ "${to%%/*}" = "${from%%/*}" ] && return 0
    if [ -n "${allow[$from]+x}" ]; then rules=${allow[$from]}; else rules=${allow[${from%%/*}]-}; fi
    for a in $rules; do
        [ "$a" = ANY ] || [ "$a" = "$to" ] || [ "$a" = "${to%%/*}" ] && return 0
    done
    return 1
}

# check ROOT BUILD: print the TAP lines, return 1 on a violation.
check() {
    local root=$1 build=$2 tmp
    tmp=$(mktemp -d)
    # Objects whose source still exists: server and CLI in BUILD/src, libcairn
    # (and its copy of util/fmt17) in BUILD/pic/src. Each as "obj<TAB>layer/file".
    local o rel
    : >"$tmp/objs"
    while IFS= read -r o; do
        rel=${o#"$build"/}; rel=${rel#pic/}; rel=${rel#src/}; rel=${rel%.o}
        [ -f "$root/src/$rel.c" ] && printf '%s\t%s\n' "$o" "$rel" >>"$tmp/objs"
    done < <(find "$build/src" "$build/pic/src" -name '*.o' 2>/dev/null | sort)
    if [ ! -s "$tmp/objs" ]; then
        echo "not ok 1 - objects under $build/src (run make first)"
        rm -rf "$tmp"
        return 1
    fi
    # Defined symbols: "sym<TAB>layer/file"; undefined ones per object:
    # "layer/file<TAB>sym". A symbol both libcairn and the server define
    # appears twice: a call is fine if one of the definitions is allowed.
    while IFS=$'\t' read -r o rel; do
        nm --defined-only -g "$o" | awk -v f="$rel" 'NF == 3 {print $3 "\t" f}' >>"$tmp/defs"
        nm -u "$o" | awk -v f="$rel" '{print f "\t" $NF}' >>"$tmp/undef"
    done <"$tmp/objs"
    sort -u "$tmp/defs" -o "$tmp/defs"
    # Edges "caller<TAB>sym<TAB>definer" for every symbol the project defines.
    awk -F'\t' 'NR == FNR {d[$1] = d[$1] " " $2; next} ($2 in d) {print $1 "\t" $2 "\t" d[$2]}' \
        "$tmp/defs" <(sort -u "$tmp/undef") >"$tmp/edges"
    # The include lines: "caller<TAB>line<TAB>layer-of-header<TAB>text".
    local c
    : >"$tmp/incs"
    while IFS= read -r c; do
        rel=${c#"$root"/src/}; rel=${rel%.c}
        grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"\.\./[a-z_]*/' "$c" |
            sed -E 's|^([0-9]+):[[:space:]]*#[[:space:]]*include[[:space:]]*"\.\./([a-z_]*)/([^"]*)".*|\1\t\2/\3|' |
            awk -F'\t' -v f="$rel" '{t = $2; sub(/\.h$/, "", t); print f "\t" $1 "\t" t "\t" $2}' >>"$tmp/incs"
    done < <(find "$root/src" -name '*.c' | sort)

    local n=0 bad=0 layer kind caller sym defs d ok line to text msgs
    for layer in "${layers[@]}"; do
        for kind in calls includes; do
            n=$((n + 1))
            msgs=()
            if [ "$kind" = calls ]; then
                while IFS=$'\t' read -r caller sym defs; do
                    [ "${caller%%/*}" = "$layer" ] || continue
                    ok=1
                    for d in $defs; do allowed "$caller" "$d" && { ok=0; break; }; done
                    [ $ok = 0 ] && continue
                    d=${defs# }; d=${d%% *}
                    msgs+=("  src/$caller.c calls $sym (src/$d.c): $layer/ may not call ${d%%/*}/")
                done <"$tmp/edges"
            else
                while IFS=$'\t' read -r caller line to text; do
                    [ "${caller%%/*}" = "$layer" ] || continue
                    allowed "$caller" "$to" && continue
                    msgs+=("  src/$caller.c:$line includes ../$text: $layer/ may not use ${to%%/*}/")
                done <"$tmp/incs"
            fi
            local rule="$layer/ $kind only $(sed -E 's#([a-z0-9_/]+)#\1/#g; s#([a-z]+/[a-z0-9_]+)/#\1.c#g' <<<"${allow[$layer]:-util}")"
            [ "$layer" = cli ] && rule="$rule (cli/server.c: anything; cli/server_auth.c: api/ auth/ store/)"
            if [ ${#msgs[@]} -eq 0 ]; then
                echo "ok $n - $rule"
            else
                bad=1
                echo "not ok $n - $rule: ${#msgs[@]} violation(s)"
                printf '%s\n' "${msgs[@]}"
            fi
        done
    done
    rm -rf "$tmp"
    return $bad
}

# The checker on two small trees in tests/layers/: good/ must pass, bad/ (a
# store/ file that calls http/ and an http/ file that includes a store/
# header and calls the store) must fail with exactly those edges.
self_test() {
    local tmp rc=0 f out
    tmp=$(mktemp -d)
    for tree in good bad; do
        while IFS= read -r f; do
            rel=${f#tests/layers/$tree/}
            mkdir -p "$tmp/$tree/build/$(dirname "${rel%.c}")"
            cc -std=c11 -Wall -Wextra -Werror -c -o "$tmp/$tree/build/${rel%.c}.o" "$f" || rc=1
        done < <(find "tests/layers/$tree/src" -name '*.c')
    done
    out=$(check "tests/layers/good" "$tmp/good/build")
    if [ $? -eq 0 ] && ! grep -q '^not ok' <<<"$out"; then
        echo "ok 1 - self-test: a tree that keeps the rules passes"
    else
        echo "not ok 1 - self-test: a tree that keeps the rules passes"; printf '%s\n' "$out"; rc=1
    fi
    out=$(check "tests/layers/bad" "$tmp/bad/build")
    local want got
    want=$(printf '%s\n' \
        "  src/http/server.c calls store_put (src/store/store.c): http/ may not call store/" \
        "  src/http/server.c:2 includes ../store/store.h: http/ may not use store/" \
        "  src/store/store.c calls http_reply (src/http/server.c): store/ may not call http/" \
        "  src/util/misc.c calls store_put (src/store/store.c): util/ may not call store/")
    got=$(grep '^  ' <<<"$out" | sort)
    if [ "$got" = "$(sort <<<"$want")" ] && [ "$(grep -c '^not ok' <<<"$out")" -eq 4 ]; then
        echo "ok 2 - self-test: every forbidden call and include of a bad tree is reported"
    else
        echo "not ok 2 - self-test: every forbidden call and include of a bad tree is reported"
        printf 'want:\n%s\ngot:\n%s\n' "$want" "$out"; rc=1
    fi
    rm -rf "$tmp"
    return $rc
}

root=. build=build
case "${1-}" in
    --self-test) self_test; exit $? ;;
    --root) root=$2; shift 2 ;;
esac
[ $# -gt 0 ] && build=$1
check "$root" "$build"
