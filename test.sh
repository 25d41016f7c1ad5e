#!/usr/bin/env bash
# Runs every test of the repository on a Debian machine that has the .NET SDK:
#   1. installs the Debian packages the tests need (apt-get update at most once, only if something is missing),
#   2. builds native/ if it exists,
#   3. builds Scst.sln in Release,
#   4. runs every test project of Scst.sln through Microsoft.Testing.Platform (global.json opts in),
#   5. ends with one line "N passed, N failed, N skipped" (totals of every suite it ran).
# Exit status: 0 only if the build succeeded, at least one test ran and none failed.
# Environment: TEST_TIMEOUT (default 60m) bounds the test run; extra arguments are passed to `dotnet test`
# (e.g. ./test.sh --filter-class 'Scst.Core.Tests.*').
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
root=$PWD
results_dir="$root/TestResults"
test_timeout=${TEST_TIMEOUT:-60m}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

passed=0 failed=0 skipped=0 counted=0

# Always finish with the totals line, also when a step above fails.
finish() {
  local status=$?
  if [[ $counted -eq 0 && $status -eq 0 ]]; then
    status=1
  fi
  echo
  echo "$passed passed, $failed failed, $skipped skipped"
  exit "$status"
}
trap finish EXIT

step() { echo; echo "==> $*"; }

# --- 1. Debian packages ------------------------------------------------------------------------------------------
# libiscsi-bin: iscsi-test-cu, iscsi-perf (conformance harness tests call the real tool and fail without it).
# open-isns-server, open-isns-utils: isnsd and isnsadm, the iSNS server the iSNS client is tested against.
packages=(libiscsi-bin open-isns-server open-isns-utils)
# The Linux initiator test (tests/vm): qemu boots a Debian guest whose image mmdebstrap builds (cpio, kmod: initramfs
# and kernel modules); the image is built on first use and cached under /var/tmp/scst-vm-image.
packages+=(qemu-system-x86 mmdebstrap cpio kmod)
# The FCoE initiator test reads the target's capture with tshark (its debconf question, whether non-root users may
# capture, takes the default under DEBIAN_FRONTEND=noninteractive).
packages+=(tshark)
if [[ -d native ]]; then
  packages+=(make gcc libc6-dev)
  [[ -f native/CMakeLists.txt ]] && packages+=(cmake)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -gt 0 ]]; then
  step "installing ${missing[*]}"
  sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
fi

# --- 2. native/ ---------------------------------------------------------------------------------------------------
if [[ -d native ]]; then
  step "building native/"
  if [[ -f native/CMakeLists.txt ]]; then
    cmake -S native -B native/build -DCMAKE_BUILD_TYPE=Release
    cmake --build native/build --parallel "$(nproc)"
  elif [[ -f native/Makefile ]]; then
    make -C native -j"$(nproc)"
  else
    echo "native/ has neither CMakeLists.txt nor Makefile" >&2
    exit 1
  fi
fi

# --- 3. build ----------------------------------------------------------------------------------------------------
step "dotnet build Scst.sln -c Release"
dotnet build Scst.sln -c Release -nologo </dev/null

# Every test project must be in the solution, or `dotnet test --solution` would silently not run it.
for proj in tests/*/*.Tests.csproj; do
  [[ -e $proj ]] || continue
  if ! grep -qF "$(basename "$proj")" Scst.sln; then
    echo "error: $proj is not in Scst.sln (dotnet sln Scst.sln add --solution-folder tests $proj)" >&2
    exit 1
  fi
done

# --- 4. test -----------------------------------------------------------------------------------------------------
# --ignore-exit-code 8: a test project with no tests yet is not an error by itself (exit code 8 = zero tests ran);
# a run in which no test at all ran still fails below. --report-xunit-trx: one TRX per test module, used for the
# per-project lines; the totals come from the run summary of `dotnet test`.
step "dotnet test --solution Scst.sln -c Release --no-build"
rm -rf "$results_dir"
log=$(mktemp)
set +e
timeout --kill-after=60s "$test_timeout" \
  dotnet test --solution Scst.sln -c Release --no-build --no-ansi --no-progress \
    --results-directory "$results_dir" --report-xunit-trx --ignore-exit-code 8 "$@" </dev/null 2>&1 | tee "$log"
test_status=${PIPESTATUS[0]}
set -e

# Each failed test with the start of its message, so that the end of the output says why a run failed.
for trx in "$results_dir"/*.trx; do
  if [[ -e $trx ]]; then awk -f "$root/.ci/failed-tests.awk" "$trx"; fi
done

# Per-project counts from the TRX files (the file of a project without tests names no assembly).
for trx in "$results_dir"/*.trx; do
  [[ -e $trx ]] || continue
  module=$(grep -o 'storage="[^"]*"' "$trx" | head -n1 | sed 's/.*\///; s/\.dll"$//' || true)
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n1 || true)
  get() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  [[ -n $module ]] && printf '  %-36s %s passed, %s failed, %s skipped\n' "$module" "$(get passed)" "$(get failed)" "$(get notExecuted)"
done

# Totals from the last run summary ("total: N / failed: N / succeeded: N / skipped: N").
summary() { grep -E "^[[:space:]]+$1: [0-9]+$" "$log" | tail -n1 | grep -oE '[0-9]+$' || true; }
total=$(summary total)
if [[ -n $total ]]; then
  passed=$(summary succeeded)
  failed=$(summary failed)
  skipped=$(summary skipped)
  counted=$total
fi
rm -f "$log"

if [[ $test_status -eq 124 || $test_status -eq 137 ]]; then
  echo "error: the test run exceeded TEST_TIMEOUT=$test_timeout and was killed" >&2
  exit 1
fi
if [[ -z $total ]]; then
  echo "error: no test run summary found (dotnet test exit code $test_status)" >&2
  exit 1
fi
if [[ $counted -eq 0 ]]; then
  echo "error: no test ran" >&2
  exit 1
fi
if [[ $failed -ne 0 || $test_status -ne 0 ]]; then
  exit 1
fi
exit 0
