#!/usr/bin/env bash
# Issue 10's benchmark: vdisk_fileio (and, with --storage blockdev, vdisk_blockio) under the handler-load driver
# (Scst.Benchmarks handler-load, in process, through the local transport) beside fio on the same file or block device,
# for the same engine, block size and depth. Runs interleave fio and ours case by case; the script prints one table of
# means: fio IOPS, ours IOPS, ratio, MB/s, p50/p99 latency and CPU per I/O of both. See benchmarks/README.md for how
# the two map. Build first:
#   dotnet build -c Release benchmarks/Scst.Benchmarks
set -euo pipefail

usage() {
  cat <<'EOF'
usage: benchmarks/run-handler-vs-fio.sh [--engine pread|io_uring] [--seconds N] [--reps N] [--cases LIST]
                                        [--storage cache,direct,blockdev] [--size SIZE] [--direct-dir DIR] [--keep-files]
                                        [--quiet-wait SECONDS] [--log-dir DIR] [--bench PATH] [--min-threads N]
                                        [--sessions auto|one|per-worker]
  --engine E       pread (default): fio psync, numjobs = depth, against vdisk_fileio's positional I/O (inline in the
                   page cache, async=1 with O_DIRECT); io_uring: fio io_uring, iodepth = depth, against io_engine=io_uring
  --seconds N      measured seconds of each run, after --warmup seconds not counted (default 10)
  --warmup N       warm-up of each run: fio's ramp_time, the driver's --warmup (default 3; .NET's tiered JIT needs
                   about 2 s before the code it runs is final)
  --reps N         rounds; every round runs each case with fio and with ours, in alternating order (default 3)
  --cases LIST     comma-separated subset of: 4k-randread-qd1 4k-randread-qd32 4k-randwrite-qd1 4k-randwrite-qd32
                   128k-read-qd8 128k-write-qd8 (default: all)
  --storage LIST   cache (a file on /dev/shm, page cache), direct (a file on DIR, O_DIRECT), blockdev (vdisk_blockio
                   on a loop device with direct I/O over a file on DIR; fio with direct=1 on the device; needs root);
                   default cache,direct
  --size SIZE      file size (default 1G); the files are written fully before the first run
  --direct-dir DIR directory on a disk file system for the O_DIRECT file and the loop device's file (default /var/tmp)
  --keep-files     leave the files in place (and reuse them when they already have the size); the loop device is
                   detached at the end either way
  --quiet-wait S   before each run, wait up to S seconds for the other processes to use less than half a CPU (default 20)
  --log-dir DIR    keep every raw output there (default: a temporary directory, printed)
  --bench PATH     the Scst.Benchmarks executable (default: the Release build beside this script)
  --min-threads N  the thread pool's minimum worker threads in our process (ThreadPool.SetMinThreads); default: the
                   runtime's (one per CPU). With async=1 each I/O in progress holds a pool thread.
  --sessions S     our initiator side: per-worker (one local session, one I_T nexus, per worker), one (all workers on
                   one session), auto (default): per-worker for --engine pread, where fio runs numjobs independent
                   jobs, and one for --engine io_uring, where fio runs one job with iodepth in flight
EOF
}

sessions=auto engine=pread seconds=10 warmup=3 min_threads="" reps=3 size=1G direct_dir=/var/tmp keep=0 quiet_wait=20 log_dir="" bench=""
cases_all="4k-randread-qd1,4k-randread-qd32,4k-randwrite-qd1,4k-randwrite-qd32,128k-read-qd8,128k-write-qd8"
cases=$cases_all storage=cache,direct
while [[ $# -gt 0 ]]; do
  case $1 in
    --engine) engine=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --min-threads) min_threads=$2; shift 2 ;;
    --sessions) sessions=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --cases) cases=$2; shift 2 ;;
    --storage) storage=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --direct-dir) direct_dir=$2; shift 2 ;;
    --keep-files) keep=1; shift ;;
    --quiet-wait) quiet_wait=$2; shift 2 ;;
    --log-dir) log_dir=$2; shift 2 ;;
    --bench) bench=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ $engine == pread || $engine == io_uring ]] || { echo "--engine: pread or io_uring" >&2; exit 2; }
[[ $sessions == auto || $sessions == one || $sessions == per-worker ]] || { echo "--sessions: auto, one or per-worker" >&2; exit 2; }
if [[ $sessions == auto ]]; then sessions=per-worker; [[ $engine == pread ]] || sessions=one; fi
for c in ${cases//,/ }; do [[ ,$cases_all, == *,$c,* ]] || { echo "unknown case $c" >&2; exit 2; }; done
for s in ${storage//,/ }; do [[ $s == cache || $s == direct || $s == blockdev ]] || { echo "unknown storage $s" >&2; exit 2; }; done
if [[ ,$storage, == *,blockdev,* ]]; then
  [[ $EUID == 0 ]] || { echo "--storage blockdev needs root (losetup)" >&2; exit 1; }
  command -v losetup >/dev/null || { echo "--storage blockdev needs losetup (util-linux)" >&2; exit 1; }
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench=${bench:-$root/benchmarks/Scst.Benchmarks/bin/Release/net10.0/Scst.Benchmarks}
[[ -x $bench ]] || { echo "build first: dotnet build -c Release benchmarks/Scst.Benchmarks" >&2; exit 1; }
if ! command -v fio >/dev/null; then
  echo "installing fio" >&2
  apt-get install -y fio >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y fio >/dev/null; }
fi
command -v python3 >/dev/null || { echo "python3 is needed to read fio's JSON" >&2; exit 1; }

if [[ -z $log_dir ]]; then log_dir=$(mktemp -d /tmp/hbench.XXXXXX); fi
mkdir -p "$log_dir"
results=$log_dir/results.tsv
: >"$results"
bytes=$(numfmt --from=iec "${size^^}")
cache_file=/dev/shm/scst-hbench.img
direct_file=$direct_dir/scst-hbench.img
loop_file=$direct_dir/scst-hbench-loop.img
loop_dev=""

cleanup() {
  # Detach only the loop device this script attached; a device still open (a run cut short) goes when it is closed.
  if [[ -n $loop_dev ]]; then losetup -d "$loop_dev" || echo "could not detach $loop_dev" >&2; fi
  if [[ $keep == 0 ]]; then rm -f "$cache_file" "$direct_file" "$loop_file"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A file of the full size, every block written (fio then finds it complete and lays nothing out).
prepare() { # FILE DIRECT(0|1)
  local f=$1 direct=$2
  if [[ $keep == 1 && -f $f && $(stat -c %s "$f") == "$bytes" ]]; then return; fi
  echo "writing $f ($size)" >&2
  if [[ $direct == 1 ]]; then
    dd if=/dev/urandom of="$f" bs=1M count=$((bytes >> 20)) oflag=direct conv=fsync status=none
  else
    dd if=/dev/urandom of="$f" bs=1M count=$((bytes >> 20)) status=none
  fi
}

# The O_DIRECT file (and the loop device's) must be on a disk file system that takes O_DIRECT, with room for it.
check_direct_dir() { # FILE
  local f=$1 avail fstype
  avail=$(df --output=avail -B1 "$direct_dir" | tail -n1)
  fstype=$(df --output=fstype "$direct_dir" | tail -n1)
  [[ $fstype != tmpfs ]] || { echo "$direct_dir is tmpfs: O_DIRECT needs a disk file system (--direct-dir)" >&2; exit 1; }
  if [[ ! -f $f || $(stat -c %s "$f") != "$bytes" ]]; then
    ((avail > bytes + (256 << 20))) || { echo "$direct_dir: not enough space for $size" >&2; exit 1; }
  fi
  dd if=/dev/zero of="$f.probe" bs=4096 count=1 oflag=direct status=none 2>/dev/null ||
    { rm -f "$f.probe"; echo "$direct_dir ($fstype) refuses O_DIRECT" >&2; exit 1; }
  rm -f "$f.probe"
}

for s in ${storage//,/ }; do
  if [[ $s == cache ]]; then
    prepare "$cache_file" 0
  elif [[ $s == direct ]]; then
    check_direct_dir "$direct_file"
    prepare "$direct_file" 1
  else
    # blockdev: a loop device with direct I/O (the loop driver reads and writes its file with O_DIRECT, so no page
    # cache sits on either side of the device), over a file written fully first.
    check_direct_dir "$loop_file"
    prepare "$loop_file" 1
    loop_dev=$(losetup --find --show --direct-io=on "$loop_file")
    [[ $loop_dev == /dev/loop* ]] || { echo "losetup printed '$loop_dev', not a loop device" >&2; loop_dev=""; exit 1; }
    loop_name=${loop_dev#/dev/}
    [[ $(cat "/sys/block/$loop_name/loop/dio" 2>/dev/null) == 1 ]] ||
      echo "warning: $loop_dev does not use direct I/O on $loop_file (the kernel refused it): its file is read through the page cache" >&2
    echo "$loop_dev: loop device with direct I/O over $loop_file, $(cat "/sys/block/$loop_name/queue/logical_block_size")-byte blocks" >&2
  fi
done

# Waits (up to --quiet-wait seconds) until the other processes use less than half a CPU over a second; prints the
# busy CPUs measured last.
wait_quiet() {
  local deadline=$((SECONDS + quiet_wait)) busy
  while :; do
    busy=$(python3 - <<'EOF'
import time
def sample():
    with open('/proc/stat') as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v), v[3] + v[4]
t0, i0 = sample(); time.sleep(1); t1, i1 = sample()
import os
print(f"{(1 - (i1 - i0) / max(1, t1 - t0)) * os.cpu_count():.2f}")
EOF
)
    if awk -v b="$busy" 'BEGIN { exit !(b < 0.5) }' || ((SECONDS >= deadline)); then echo "$busy"; return; fi
  done
}

run_fio() { # CASE STORAGE OUT -> fio's JSON in OUT
  local c=$1 s=$2 out=$3 bs rw qd file direct
  IFS=- read -r bs rw qd <<<"$c"; qd=${qd#qd}
  file=$cache_file direct=0
  if [[ $s == direct ]]; then file=$direct_file direct=1; fi
  if [[ $s == blockdev ]]; then file=$loop_dev direct=1; fi
  local args=(--name=hbench --filename="$file" --bs="$bs" --rw="$rw" --direct="$direct"
    --norandommap=1 --randrepeat=0 --time_based=1 --runtime="$seconds" --ramp_time="$warmup" --invalidate=0
    --lat_percentiles=1 --group_reporting=1 --output-format=json)
  if [[ $engine == pread ]]; then
    args+=(--ioengine=psync --thread=1 --numjobs="$qd")
    # Sequential: each job streams through its own slice, as ours does with --seq sliced.
    if [[ $rw == read || $rw == write ]]; then
      args+=(--size=$((bytes / qd)) --offset_increment=$((bytes / qd)))
    else
      args+=(--size="$bytes")
    fi
  else
    args+=(--ioengine=io_uring --iodepth="$qd" --numjobs=1 --size="$bytes")
  fi
  timeout $((seconds + warmup + 60)) fio "${args[@]}" >"$out"
}

run_ours() { # CASE STORAGE OUT
  local c=$1 s=$2 out=$3 bs rw qd file
  IFS=- read -r bs rw qd <<<"$c"; qd=${qd#qd}
  local args=(handler-load --rw "$rw" --bs "$bs" --qd "$qd" --seconds "$seconds" --warmup "$warmup" --sessions "$sessions" ${min_threads:+--min-threads "$min_threads"})
  if [[ $s == cache ]]; then
    file=$cache_file
  elif [[ $s == direct ]]; then
    file=$direct_file; args+=(--param o_direct=1 --param async=1)
  else
    # vdisk_blockio: always O_DIRECT, and no async parameter: with io_engine=pread each request runs on the command's
    # thread, here the worker's own thread (--workers threads), as fio's psync job threads each block in pread.
    file=$loop_dev; args+=(--handler vdisk_blockio)
  fi
  if [[ $engine == io_uring ]]; then args+=(--param io_engine=io_uring --seq shared); else args+=(--param io_engine=pread --seq sliced); fi
  timeout $((seconds + warmup + 60)) "$bench" "${args[@]}" --file "$file" >"$out"
}

# fio JSON -> "iops mbps p50_us p99_us cpu_us_per_io"
parse_fio() {
  python3 - "$1" <<'EOF'
import json, sys
job = json.load(open(sys.argv[1]))["jobs"][0]
d = job["read"] if job["read"]["io_bytes"] > 0 else job["write"]
pct = d["lat_ns"]["percentile"]
ios = d["total_ios"]
# usr_cpu/sys_cpu are the jobs' CPU in percent of their summed run time (job_runtime, ms), measured after ramp_time.
cpu_s = (job["usr_cpu"] + job["sys_cpu"]) / 100 * job["job_runtime"] / 1000
print(f'{d["iops"]:.0f} {d["bw_bytes"] / 1e6:.1f} {pct["50.000000"] / 1000:.1f} {pct["99.000000"] / 1000:.1f} {cpu_s * 1e6 / max(1, ios):.2f}')
EOF
}

parse_ours() {
  local line; line=$(grep '^handler-load ' "$1")
  for k in iops mbps lat_us_p50 lat_us_p99 cpu_us_per_io; do
    sed -n "s/.* $k=\([0-9.]*\).*/\1/p" <<<"$line"
  done | paste -sd' '
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "engine $engine, sessions $sessions, ${seconds}s per run, $reps rounds, logs in $log_dir; load average at start: $load_start" >&2
for r in $(seq "$reps"); do
  for s in ${storage//,/ }; do
    for c in ${cases//,/ }; do
      order=(fio ours)
      if ((r % 2 == 0)); then order=(ours fio); fi
      for tool in "${order[@]}"; do
        busy=$(wait_quiet)
        out=$log_dir/$s-$c-$tool-$r.out
        if [[ $tool == fio ]]; then
          run_fio "$c" "$s" "$out" || { echo "fio failed: $s $c (see $out)" >&2; exit 1; }
          vals=$(parse_fio "$out")
        else
          run_ours "$c" "$s" "$out" || { echo "handler-load failed: $s $c (see $out)" >&2; exit 1; }
          vals=$(parse_ours "$out")
        fi
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$c" "$tool" "$r" "$busy" "$(cut -d' ' -f1 /proc/loadavg)" "$vals" |
          tee -a "$results" >&2
      done
    done
  done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$results" "$engine" "$load_start" "$load_end" <<'EOF'
import sys, collections
path, engine, load_start, load_end = sys.argv[1:5]
runs = collections.defaultdict(list)
busy = []
for line in open(path):
    s, c, tool, r, b, _, vals = line.rstrip("\n").split("\t")
    runs[(s, c, tool)].append([float(v) for v in vals.split()])
    busy.append(float(b))
mean = lambda rows, i: sum(row[i] for row in rows) / len(rows)
print(f"engine {engine}; means of {max(len(v) for v in runs.values())} runs; load average {load_start} at start, {load_end} at end; "
      f"other processes' CPUs before each run: mean {sum(busy) / len(busy):.2f}, max {max(busy):.2f}")
head = f'{"storage":<8} {"case":<18} {"fio IOPS":>9} {"ours IOPS":>9} {"ratio":>6} {"fio MB/s":>9} {"ours MB/s":>9} ' \
       f'{"fio p50/p99 us":>16} {"ours p50/p99 us":>16} {"fio CPU us/IO":>13} {"ours CPU us/IO":>14}'
print(head)
order = {"cache": 0, "direct": 1, "blockdev": 2}
keys = sorted({(s, c) for (s, c, _) in runs}, key=lambda k: (order.get(k[0], 3), k[1]))
for s, c in keys:
    f, o = runs.get((s, c, "fio")), runs.get((s, c, "ours"))
    if not f or not o:
        continue
    fi, oi = mean(f, 0), mean(o, 0)
    print(f'{s:<8} {c:<18} {fi:>9.0f} {oi:>9.0f} {oi / fi:>6.2f} {mean(f, 1):>9.1f} {mean(o, 1):>9.1f} '
          f'{f"{mean(f, 2):.1f} / {mean(f, 3):.1f}":>16} {f"{mean(o, 2):.1f} / {mean(o, 3):.1f}":>16} '
          f'{mean(f, 4):>13.2f} {mean(o, 4):>14.2f}')
EOF
