#!/usr/bin/env bash
# Issue 5's benchmark: 4 KiB random read at QD32 (iscsi-perf -b 8 -m 32 -r) against one file served twice by one
# target process: as LUN 0 by vdisk_fileio (in process) and as LUN 1 by the UserFileIo sample through Scst.UserDevice.
# Runs alternate between the two LUNs; the script prints each run and the mean IOPS of each with their ratio.
# Build first: dotnet build Scst.sln -c Release. Everything binds 127.0.0.1 and stops on exit.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: benchmarks/run-user-device.sh [--seconds N] [--reps N] [--size SIZE] [--port N] [--threads N]
  --seconds N   duration of each iscsi-perf run (default 10)
  --reps N      runs per LUN, alternated (default 3)
  --size SIZE   size of the file on /dev/shm (default 1G)
  --port N      portal port (default 3266)
  --threads N   the device process's -e (default: the sample's)
EOF
}

seconds=10 reps=3 size=1G port=3266 threads=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
done

command -v iscsi-perf >/dev/null || { echo "iscsi-perf is missing (apt-get install libiscsi-bin)" >&2; exit 1; }
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target_exe=$root/samples/Scst.Samples.Target/bin/Release/net10.0/Scst.Samples.Target
app_exe=$root/samples/Scst.Samples.UserFileIo/bin/Release/net10.0/Scst.Samples.UserFileIo
[[ -x $target_exe && -x $app_exe ]] || { echo "build first: dotnet build Scst.sln -c Release" >&2; exit 1; }

work=$(mktemp -d /tmp/scst-userbench.XXXXXX)
file=/dev/shm/scst-userbench-$$.img
iqn=iqn.2026-11.org.scst-dotnet:userbench
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -f "$file"
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

truncate -s "$size" "$file"
dd if=/dev/urandom of="$file" bs=1M count=64 conv=notrunc status=none
"$target_exe" --file "$file" --size "$size" --portal "127.0.0.1:$port" --target "$iqn" \
  --user-socket "$work/user.sock" >"$work/target.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -S $work/user.sock ]] && break; sleep 0.1; done
"$app_exe" --socket "$work/user.sock" ${threads:+-e "$threads"} app "$file" >"$work/app.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "LUN 1 maps device app" "$work/target.log" 2>/dev/null && break; sleep 0.1; done
sleep 1

run() { # LUN -> IOPS
  iscsi-perf -b 8 -m 32 -r -t "$seconds" "iscsi://127.0.0.1:$port/$iqn/$1" 2>&1 |
    sed -n 's/.*iops average \([0-9.]*\).*/\1/p' | tail -n1
}

declare -a fileio user
for r in $(seq "$reps"); do
  f=$(run 0); u=$(run 1)
  [[ -n $f && -n $u ]] || { echo "a run failed; target log:" >&2; tail -n 20 "$work/target.log" >&2; exit 1; }
  fileio+=("$f"); user+=("$u")
  printf 'run %d: vdisk_fileio %8.0f IOPS   user device %8.0f IOPS\n' "$r" "$f" "$u"
done
mean() { printf '%s\n' "$@" | awk '{ s += $1 } END { printf "%.0f", s / NR }'; }
mf=$(mean "${fileio[@]}"); mu=$(mean "${user[@]}")
printf 'mean:  vdisk_fileio %8d IOPS   user device %8d IOPS   ratio %.1f %%\n' "$mf" "$mu" "$(awk -v a="$mu" -v b="$mf" 'BEGIN { print 100 * a / b }')"
