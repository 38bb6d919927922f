#!/usr/bin/env bash
# test.sh - install what is missing, build (normal and ASan+UBSan), and run
# every suite against both builds: C unit tests (cmocka, including the
# libcairn client tests in tests/client/test_*.c), the layer rules on the
# release objects (scripts/check_layers.sh), the make flags
# (scripts/check_flags.sh), every fuzz harness for 10 s (scripts/fuzz.sh),
# black-box API tests
# (pytest driving build/cairn) on SQLite and once more on a throw-away
# PostgreSQL (scripts/pg.sh), and the client suites (tests/client: the CLI,
# the Python binding over build/libcairn.so, the offline spool, mlruns import,
# large artifacts), and the end-to-end suites (tests/e2e) against a throw-away
# single-node Slurm cluster (scripts/slurm.sh) with the release build; they
# run in the background while the ASan build is made and tested. The S3
# artifact store's unit test runs against a throw-away Swift
# (scripts/swift.sh).
# Ends with one line "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test || { echo "0 passed, 1 failed"; exit 1; }

PY=/usr/bin/python3   # Debian's python sees python3-requests and python3-pytest
results=$(mktemp -d)
pgdir=""
slurmdir=""
swiftdir=""
e2e_pid=""
cleanup() {
    if [ -n "$e2e_pid" ]; then kill "$e2e_pid" 2>/dev/null; wait "$e2e_pid" 2>/dev/null; fi
    [ -n "$slurmdir" ] && bash scripts/slurm.sh stop "$slurmdir"
    [ -n "$swiftdir" ] && bash scripts/swift.sh stop "$swiftdir"
    [ -n "$pgdir" ] && bash scripts/pg.sh stop "$pgdir"
    rm -rf "$results"
}
trap cleanup EXIT
passed=0
failed=0

build() {
    make -j"$(nproc)" "$@" all units >"$results/build.log" 2>&1 || {
        cat "$results/build.log"
        echo "build failed: make $*"
        failed=$((failed + 1))
        return 1
    }
}

# cmocka prints TAP with CMOCKA_MESSAGE_OUTPUT=TAP: count "ok" / "not ok";
# a binary that dies before reporting counts as one failure.
run_units() {
    local dir=$1
    for t in "$dir"/tests/test_*; do
        [ -x "$t" ] || continue
        local out="$results/$(basename "$t").tap" env_extra=()
        # Only the S3 store's test sees the Swift's endpoint and credentials.
        case "$(basename "$t")" in test_artifacts_s3) env_extra=("${s3_env[@]+"${s3_env[@]}"}") ;; esac
        env "${env_extra[@]+"${env_extra[@]}"}" CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$out" 2>&1
        local rc=$?
        local ok nok
        ok=$(grep -c '^ok ' "$out")
        nok=$(grep -c '^not ok ' "$out")
        passed=$((passed + ok))
        failed=$((failed + nok))
        if [ $rc -ne 0 ] && [ "$nok" -eq 0 ]; then failed=$((failed + 1)); fi
        echo "unit $(basename "$dir")/$(basename "$t"): $ok passed, $nok failed (exit $rc)"
        if [ "$nok" -ne 0 ] || [ $rc -ne 0 ]; then grep -v '^ok ' "$out" | head -50; fi
    done
}

# run_tap NAME CMD...: a script that prints TAP ("ok N - ..." / "not ok N -
# ..."); count its cases. A script that says "1..0 # SKIP reason" adds
# nothing and the reason is shown; one that fails without a "not ok" line
# counts as one failure.
run_tap() {
    local name=$1; shift
    local out="$results/$name.tap"
    "$@" >"$out" 2>&1
    local rc=$? ok nok
    ok=$(grep -c '^ok ' "$out")
    nok=$(grep -c '^not ok ' "$out")
    passed=$((passed + ok))
    failed=$((failed + nok))
    if grep -q '^1\.\.0 # SKIP' "$out"; then
        echo "$name: skipped: $(sed -n 's/^1\.\.0 # SKIP //p' "$out")"
        return
    fi
    if [ $rc -ne 0 ] && [ "$nok" -eq 0 ]; then failed=$((failed + 1)); nok=1; fi
    echo "$name: $ok passed, $nok failed (exit $rc)"
    if [ "$nok" -ne 0 ]; then grep -v '^ok ' "$out" | head -60; fi
}

# pytest writes JUnit XML; count its testcases.
run_api() {
    run_pytest tests/api api "$@"
}

run_client() {
    run_pytest tests/client client "$@"
}

run_pytest() {
    local dir=$1 suite=$2 bin=$3 name=$4; shift 4
    local xml="$results/$suite-$name.xml"
    CAIRN_BIN="$bin" "$@" $PY -m pytest -q -p no:cacheprovider "$dir" --junitxml="$xml" 2>&1 | tail -25
    count_junit "$suite" "$name" "$xml"
}

# count_junit SUITE NAME XML: add a JUnit XML file's results to the totals
# (no file: the suite did not run to the end, one failure).
count_junit() {
    local suite=$1 name=$2 xml=$3 p f
    if [ ! -s "$xml" ]; then
        echo "$suite $name: no results"
        failed=$((failed + 1))
        return
    fi
    read -r p f < <($PY - "$xml" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
t = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skip = sum(int(s.get("skipped", 0)) for s in suites)
print(t - bad - skip, bad)
PYEOF
)
    passed=$((passed + p))
    failed=$((failed + f))
    echo "$suite $name: $p passed, $f failed"
}

# A throw-away PostgreSQL for the API suite's PostgreSQL runs; only those
# runs see its URI (the others are on SQLite).
pg_uri="" pg_sock=""
if [ -d tests/api ]; then
    if pgenv=$(bash scripts/pg.sh start 2>"$results/pg.log"); then
        eval "$pgenv"
        pgdir=$CAIRN_PG_DIR pg_uri=$CAIRN_TEST_PG pg_sock=$CAIRN_TEST_PG_SOCKET
        unset CAIRN_PG_DIR CAIRN_TEST_PG CAIRN_TEST_PG_SOCKET
    else
        cat "$results/pg.log"
        echo "api postgres: the PostgreSQL server did not start"
        failed=$((failed + 1))
    fi
fi

# A throw-away Swift with the S3 API for tests/unit/test_artifacts_s3 and the
# API suite's S3 run; only those see its endpoint and credentials. It cannot
# start: one failure, with the reason (the S3 run is then not made).
s3_env=()
if [ -f tests/unit/test_artifacts_s3.c ]; then
    if swiftenv=$(bash scripts/swift.sh start 2>"$results/swift.log"); then
        eval "$swiftenv"
        swiftdir=$CAIRN_SWIFT_DIR
        s3_env=(CAIRN_SWIFT_DIR="$CAIRN_SWIFT_DIR" MLFLOW_S3_ENDPOINT_URL="$MLFLOW_S3_ENDPOINT_URL"
                AWS_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY"
                AWS_DEFAULT_REGION="$AWS_DEFAULT_REGION")
        unset CAIRN_SWIFT_DIR MLFLOW_S3_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION
        echo "swift: S3 up ($swiftdir)"
    else
        tail -40 "$results/swift.log"
        echo "unit s3: the Swift S3 server did not start"
        failed=$((failed + 1))
    fi
fi

# A throw-away single-node Slurm cluster for tests/e2e; only that suite sees
# its SLURM_CONF. It cannot start: one failure, with the reason.
slurm_env=()
if [ -d tests/e2e ]; then
    slurm_t0=${EPOCHREALTIME/./}
    if slurmenv=$(bash scripts/slurm.sh start 2>"$results/slurm.log"); then
        eval "$slurmenv"
        slurmdir=$CAIRN_SLURM_DIR
        slurm_env=(SLURM_CONF="$SLURM_CONF" CAIRN_SLURM_DIR="$CAIRN_SLURM_DIR")
        unset SLURM_CONF CAIRN_SLURM_DIR
        slurm_ms=$(( (${EPOCHREALTIME/./} - slurm_t0) / 1000 ))
        echo "slurm: single-node cluster up in $slurm_ms ms ($slurmdir)"
    else
        cat "$results/slurm.log"
        echo "e2e: the Slurm cluster did not start"
        failed=$((failed + 1))
    fi
fi

# tests/e2e in the background (most of its time is a job waiting for its
# 1-minute limit); its output is shown and counted at the end.
start_e2e() {
    [ ${#slurm_env[@]} -gt 0 ] || return 0
    CAIRN_BIN="$1" env "${slurm_env[@]}" $PY -m pytest -q -p no:cacheprovider tests/e2e \
        --junitxml="$results/e2e-release.xml" >"$results/e2e.log" 2>&1 &
    e2e_pid=$!
}
finish_e2e() {
    [ -n "$e2e_pid" ] || return 0
    wait "$e2e_pid"
    e2e_pid=""
    tail -25 "$results/e2e.log"
    count_junit e2e release "$results/e2e-release.xml"
}

# The same suite on PostgreSQL: every test server gets its own database. The
# 2 GiB streaming test does not touch the store: once, on SQLite, is enough.
run_api_pg() {
    [ -n "$pg_uri" ] || return 0
    run_api "$1" "$2" env CAIRN_TEST_PG="$pg_uri" CAIRN_TEST_PG_SOCKET="$pg_sock" CAIRN_SKIP_BIG=1
}

# The same suite with every server's artifacts on the Swift's S3 (release
# build only), the 2 GiB transfer included: through the proxy to S3 and back.
run_api_s3() {
    [ ${#s3_env[@]} -gt 0 ] || return 0
    run_api "$1" "$2" env "${s3_env[@]}" CAIRN_TEST_S3=s3://cairn-test
}

if build; then
    # First, so its waits (four Slurm jobs run into their 1-minute limit)
    # overlap everything else.
    start_e2e "$PWD/build/cairn"
    # The code's own rules: which layer calls which (on the objects just
    # built; the checker first proves itself on tests/layers/), that a
    # user's make flags add to the project's, and every fuzz harness for a
    # few seconds (make fuzz; skipped, with the reason, without clang).
    run_tap layers-self-test bash scripts/check_layers.sh --self-test
    run_tap layers bash scripts/check_layers.sh build
    run_tap make-flags bash scripts/check_flags.sh
    run_tap fuzz bash scripts/fuzz.sh 10
    run_units build
    [ -d tests/api ] && run_api "$PWD/build/cairn" release env
    [ -d tests/api ] && run_api_pg "$PWD/build/cairn" release-postgres
    [ -d tests/api ] && run_api_s3 "$PWD/build/cairn" release-s3
    # Once more with auth on, every request through an authenticated client.
    [ -d tests/api ] && run_api "$PWD/build/cairn" release-auth env CAIRN_TEST_AUTH=1 CAIRN_SKIP_BIG=1
    [ -d tests/client ] && run_client "$PWD/build/cairn" release env
fi
if build SAN=1; then
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
    run_units build/asan
    # The multi-GB streaming test runs once, on the release build.
    [ -d tests/api ] && run_api "$PWD/build/asan/cairn" asan env CAIRN_SKIP_BIG=1
    [ -d tests/api ] && run_api_pg "$PWD/build/asan/cairn" asan-postgres
    [ -d tests/api ] && run_api "$PWD/build/asan/cairn" asan-auth env CAIRN_TEST_AUTH=1 CAIRN_SKIP_BIG=1
    # The CLI and server under ASan; the Python binding still loads the
    # release build/libcairn.so (an ASan library would need LD_PRELOAD).
    [ -d tests/client ] && run_client "$PWD/build/asan/cairn" asan env CAIRN_SKIP_BIG=1
fi

finish_e2e

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
