#!/usr/bin/env bash
# deps.sh - install the Debian packages Cairn needs, only those missing.
# Usage: scripts/deps.sh run|test
#   run:  what building and running the server needs
#   test: that, plus what every test suite needs
set -euo pipefail

mode=${1:-run}
pkgs=(gcc make pkg-config libc6-dev libmicrohttpd-dev libjansson-dev libsqlite3-dev libssl-dev
      libpq-dev libcurl4-openssl-dev libyaml-dev libarchive-dev libxml2-dev libargon2-dev)
if [ "$mode" = test ]; then
    # postgresql: the server (and psql) the API tests start with scripts/pg.sh.
    # slurmctld slurmd slurm-client munge: the single-node cluster scripts/slurm.sh
    # starts for tests/e2e. python3-sklearn (with numpy): examples/wine-quality, run by
    # tests/e2e/test_run.py. swift swift-proxy swift-account swift-container swift-object:
    # the S3 server (s3api) scripts/swift.sh starts for the S3 artifact store's tests.
    # clang libclang-rt-14-dev (libFuzzer, ASan, UBSan): `make fuzz`, whose harnesses
    # scripts/fuzz.sh runs briefly.
    pkgs+=(libcmocka-dev python3 python3-requests python3-pytest python3-pip python3-setuptools sqlite3 curl
           postgresql g++ gfortran slurmctld slurmd slurm-client munge python3-sklearn
           swift swift-proxy swift-account swift-container swift-object clang libclang-rt-14-dev)
fi

missing=()
for p in "${pkgs[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing+=("$p") ;;
    esac
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet; refresh them once, then install.
if ! $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    $sudo apt-get update -q >/dev/null
    $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi
