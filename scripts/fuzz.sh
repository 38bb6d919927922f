#!/usr/bin/env bash
# fuzz.sh - build every libFuzzer harness (make fuzz: build/fuzz/fuzz_*) and
# run each one briefly on a seed corpus made here from tests/data and a few
# inputs written below. Prints TAP, one case per harness: a crash, a leak,
# a sanitizer report or a timeout is "not ok", and its input is kept in
# build/fuzz/findings/. scripts/test.sh counts the cases.
#
# Usage: scripts/fuzz.sh [SECONDS]   each harness runs SECONDS (default 10),
#                                    two at a time (FUZZ_JOBS, default nproc)
# Without clang and its fuzzer runtime (Debian: clang, libclang-rt-14-dev,
# both in `scripts/deps.sh test`) it says so, prints "# SKIP" and exits 0.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
par=${FUZZ_JOBS:-$(nproc)}
FUZZCC=${FUZZCC:-clang}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Can this machine link a libFuzzer program at all?
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >"$tmp/probe.c"
if ! command -v "$FUZZCC" >/dev/null; then
    echo "1..0 # SKIP fuzz: $FUZZCC is not installed (Debian: clang libclang-rt-14-dev)"
    exit 0
fi
if ! why=$("$FUZZCC" -fsanitize=fuzzer,address,undefined -o "$tmp/probe" "$tmp/probe.c" 2>&1); then
    echo "1..0 # SKIP fuzz: $FUZZCC cannot link -fsanitize=fuzzer (Debian: libclang-rt-14-dev): $(head -1 <<<"$why")"
    exit 0
fi

if ! make -j"$(nproc)" FUZZCC="$FUZZCC" fuzz >"$tmp/build.log" 2>&1; then
    cat "$tmp/build.log"
    echo "not ok 1 - make fuzz"
    exit 1
fi

# Seeds, one folder per harness.
seed() { mkdir -p "$tmp/seeds/$1"; printf "$3" >"$tmp/seeds/$1/$2"; }
seed search filter1 "metrics.acc > 0.5 and params.lr = '0.1'\nmetrics.acc DESC\nattributes.start_time ASC"
seed search filter2 "tags.\`mlflow.runName\` LIKE '%%x%%' AND attributes.status IN ('FINISHED', 'FAILED')"
seed search filter3 "datasets.name = 'wine' and attribute.run_name ILIKE 'a%%'\nparams.\`a b\`"
seed path p1 "a/b/c.txt"
seed path p2 "../x/./y//z"
seed path p3 "dir/../../etc/passwd"
# fuzz_api: the first byte picks the route (its table in fuzz/fuzz_api.c).
seed api create '\000{"name": "fuzz-exp", "tags": [{"key": "a", "value": "b"}]}'
seed api run '\010{"experiment_id": "1", "start_time": 1, "tags": [{"key": "mlflow.runName", "value": "r"}]}'
seed api search '\015{"experiment_ids": ["0", "1"], "filter": "metrics.m > 1", "max_results": 5, "order_by": ["metrics.m"]}'
seed api batch '\020{"run_id": "0123456789abcdef0123456789abcdef", "metrics": [{"key": "m", "value": 1.5, "timestamp": 1, "step": 2}], "params": [{"key": "p", "value": "v"}]}'
seed mlruns meta '\001artifact_uri: file:///tmp/mlruns/0/abc/artifacts\nend_time: 1700000000123\nentry_point_name: ""\nexperiment_id: "0"\nlifecycle_stage: active\nrun_id: abc\nstatus: 3\n'
seed mlruns metric '\0001700000000123 0.25 7\n'
# fuzz_auth: byte 0 a bearer token, 1 basic_auth.ini, 2 base64url.
seed auth jwt '\000eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjk5OTk5LCJzdWIiOiIxIn0.AAAA'
seed auth none '\000eyJhbGciOiJub25lIn0.eyJleHAiOjk5OTk5fQ.'
seed auth ini '\001[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:///basic_auth.db\nadmin_username = admin\nadmin_password = 50%% off\n  more\n[DEFAULT]\nx = %%(y)s\n'
seed auth b64 '\002-__-AAAAAQ'
# fuzz_jobs: byte 0 MLproject, 1 JSON config, 2 YAML config, 3 shell quoting.
mkdir -p "$tmp/seeds/jobs"
i=0
for f in tests/data/projects/*/MLproject tests/data/projects/*/mlproject; do
    [ -f "$f" ] && { printf '\000'; cat "$f"; } >"$tmp/seeds/jobs/project$((i += 1))"
done
for f in tests/data/backend/*.json; do { printf '\001'; cat "$f"; } >"$tmp/seeds/jobs/json$((i += 1))"; done
for f in tests/data/backend/*.yaml; do { printf '\002'; cat "$f"; } >"$tmp/seeds/jobs/yaml$((i += 1))"; done
seed jobs quote "\003it's a \"test\" \$(x); \`y\`"
# fuzz_archive: a small project as tar, tar.gz, tar.xz, tar.bz2 and zip.
mkdir -p "$tmp/seeds/archive"
cp -r tests/data/projects/full "$tmp/proj"
ln -s train.py "$tmp/proj/link.py"
tar -C "$tmp/proj" -cf "$tmp/seeds/archive/p.tar" .
tar -C "$tmp/proj" -czf "$tmp/seeds/archive/p.tar.gz" .
tar -C "$tmp/proj" -cJf "$tmp/seeds/archive/p.tar.xz" . 2>/dev/null || true
tar -C "$tmp/proj" -cjf "$tmp/seeds/archive/p.tar.bz2" . 2>/dev/null || true
/usr/bin/python3 -c 'import sys, zipfile, os
z = zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED)
for d, _, fs in os.walk(sys.argv[2]):
    for f in fs: z.write(os.path.join(d, f), os.path.relpath(os.path.join(d, f), sys.argv[2]))
' "$tmp/seeds/archive/p.zip" "$tmp/proj" 2>/dev/null || true

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

# run_one N NAME: fuzz NAME for $secs seconds into its own copy of the seeds.
run_one() {
    local n=$1 name=$2 bin=build/fuzz/fuzz_$2 log="$tmp/$2.log" corpus="$tmp/corpus/$2"
    mkdir -p "$corpus" "$tmp/findings/$name"
    cp "$tmp/seeds/$name"/* "$corpus"/ 2>/dev/null
    local t0=$SECONDS
    "$bin" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$tmp/findings/$name/" "$corpus" >"$log" 2>&1 &
    local pid=$!
    wait $pid
    local rc=$?
    # The harnesses fuzz_api and fuzz_path keep their folders in /tmp by pid.
    rm -rf "/tmp/cairn-fuzz-api-$pid" "/tmp/cairn-fuzz-path-$pid"
    local runs
    runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
    if [ $rc -eq 0 ] && [ -n "$runs" ]; then
        echo "ok $n - fuzz_$name: $runs runs in $((SECONDS - t0)) s, $(ls "$corpus" | wc -l) inputs in the corpus" >"$tmp/$name.tap"
    else
        mkdir -p build/fuzz/findings
        cp "$tmp/findings/$name"/* build/fuzz/findings/ 2>/dev/null
        {
            echo "not ok $n - fuzz_$name: exit $rc (findings, if any, in build/fuzz/findings/)"
            grep -E 'ERROR|SUMMARY|runtime error|Test unit written|#[0-9]+ 0x' "$log" | head -30 | sed 's/^/  /'
        } >"$tmp/$name.tap"
    fi
}

names=()
for b in build/fuzz/fuzz_*; do
    case $b in *.d) continue ;; esac
    [ -x "$b" ] && names+=("${b#build/fuzz/fuzz_}")
done
echo "1..${#names[@]}"
n=0
for name in "${names[@]}"; do
    n=$((n + 1))
    run_one "$n" "$name" &
    while [ "$(jobs -rp | wc -l)" -ge "$par" ]; do wait -n; done
done
wait
bad=0
for name in "${names[@]}"; do
    cat "$tmp/$name.tap"
    grep -q '^not ok' "$tmp/$name.tap" && bad=1
done
exit $bad
