#!/usr/bin/env bash
# Runs the same iSCSI load against tgtd (the reference user-space target) and, optionally, against our sample
# target, and prints one table per run: target, workload, IOPS, MB/s, p50/p99 latency, target CPU us per I/O, the
# ratios ours/tgtd and whether the goals of issue 11 are met; with --scaling, also aggregate IOPS of 1, 2, 4 and 8
# concurrent sessions. See benchmarks/README.md. Everything binds 127.0.0.1; every process started here is stopped
# on exit or Ctrl-C.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: benchmarks/run-vs-tgtd.sh [options]
  --ours               start both backends of our target from the Release build of samples/Scst.Samples.Target
                       beside this script: vdisk_fileio (row "ours", against tgtd's rdwr LUN) and vdisk_nullio
                       (row "ours-null", against tgtd's null LUN); the same as --scst-cmd and --scst-null-cmd below
  --scaling            also run 4 KiB random reads QD32 over 1, 2, 4 and 8 concurrent sessions against each target
                       (the workloads scale-1,scale-2,scale-4,scale-8) and print their aggregate IOPS
  --seconds N          duration of each workload (default 10)
  --warmup N           before the first run, N seconds of 4 KiB and N seconds of 128 KiB mixed reads and writes
                       against each target, not counted (our target compiles its hot paths meanwhile; default 3,
                       0 for none)
  --reps N             repetitions, interleaved across targets; each cell of the table is the median (default 1)
  --workloads LIST     comma-separated subset of: perf-randread,load-randread,load-randwrite,load-seqread128k,
                       load-seqwrite128k,load-qd1read,load-randrw70,load-verify,scale-1,scale-2,scale-4,scale-8
                       ("scaling" stands for the four scale-N); default: all but the scale-N
  --scst-cmd "CMD"     also start our target with CMD; placeholders {portal} {file} {size} {target} are replaced,
                       and without any placeholder the script appends
                       --portal 127.0.0.1:PORT --file FILE --size 1G --block-size 512 --target IQN
  --scst-url URL       URL of our target (default iscsi://127.0.0.1:PORT/IQN/0)
  --scst-null-cmd "CMD" also start a second instance of our target (row "ours-null", compared with tgtd-null) on
                       port PORT+1, same placeholders / appended options as --scst-cmd; meant for
                       "... --handler vdisk_nullio"
  --scst-port N        portal port of our target (default 3264)
  --scst-target IQN    target name of our target (default iqn.2026-11.org.scst-dotnet:disk1)
  --tgtd-port N        portal port of tgtd (default 3263)
  --tgtd-control N     tgtd control port (-C, default 3263)
  --no-null            skip tgtd's null-backend target
  --iscsi-load-src DIR source of iscsi-load (default: ../shared/tools/iscsi-load beside the checkout)
  --keep-going         continue after a failed workload (its row shows "error"); the exit status is still 1
  --log-dir DIR        keep the targets' logs (tgtd.log, scst.log, scst-null.log), every client's output
                       (runs.tsv: one line per run) and the output of failed workloads in DIR
EOF
}

seconds=10 reps=1 scst_cmd="" scst_url="" scst_port=3264 scst_target="iqn.2026-11.org.scst-dotnet:disk1"
tgtd_port=3263 tgtd_control=3263 with_null=1 load_src="" keep_going=0 scst_null_cmd="" ours=0 scaling=0
log_dir=""
default_workloads="perf-randread,load-randread,load-randwrite,load-seqread128k,load-seqwrite128k,load-qd1read,load-randrw70,load-verify"
workload_list=$default_workloads
command_line=benchmarks/run-vs-tgtd.sh
for a in "$@"; do
  if [[ $a =~ ^[A-Za-z0-9_./:,=+-]+$ ]]; then command_line+=" $a"; else command_line+=" $(printf '%q' "$a")"; fi
done
warmup=3
while [[ $# -gt 0 ]]; do
  case $1 in
    --ours) ours=1; shift ;;
    --scaling) scaling=1; shift ;;
    --seconds) seconds=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --scst-cmd) scst_cmd=$2; shift 2 ;;
    --scst-url) scst_url=$2; shift 2 ;;
    --scst-null-cmd) scst_null_cmd=$2; shift 2 ;;
    --workloads) workload_list=$2; shift 2 ;;
    --scst-port) scst_port=$2; shift 2 ;;
    --scst-target) scst_target=$2; shift 2 ;;
    --tgtd-port) tgtd_port=$2; shift 2 ;;
    --tgtd-control) tgtd_control=$2; shift 2 ;;
    --no-null) with_null=0; shift ;;
    --iscsi-load-src) load_src=$2; shift 2 ;;
    --keep-going) keep_going=1; shift ;;
    --log-dir) log_dir=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ $seconds =~ ^[1-9][0-9]*$ && $reps =~ ^[1-9][0-9]*$ ]] || { echo "--seconds and --reps take a positive integer" >&2; exit 2; }
[[ $warmup =~ ^[0-9]+$ ]] || { echo "--warmup takes a number of seconds" >&2; exit 2; }
workload_list=${workload_list//scaling/scale-1,scale-2,scale-4,scale-8}
[[ $scaling -eq 1 ]] && workload_list+=",scale-1,scale-2,scale-4,scale-8"
# Each workload once, in the order first named.
workload_list=$(tr ',' '\n' <<<"$workload_list" | awk 'NF && !seen[$0]++' | paste -sd,)

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ $ours -eq 1 ]]; then
  [[ -z $scst_cmd && -z $scst_null_cmd ]] || { echo "--ours replaces --scst-cmd and --scst-null-cmd" >&2; exit 2; }
  ours_exe=$root/samples/Scst.Samples.Target/bin/Release/net10.0/Scst.Samples.Target
  [[ -x $ours_exe ]] || { echo "$ours_exe not found: build it with dotnet build -c Release samples/Scst.Samples.Target" >&2; exit 2; }
fi
work=$(mktemp -d /tmp/scst-bench.XXXXXX)
if [[ $ours -eq 1 ]]; then
  # Each instance keeps its state (saved mode pages, reservations) in a directory of its own, gone after the run.
  scst_cmd="$ours_exe --handler vdisk_fileio --state-dir $work/state-ours"
  scst_null_cmd="$ours_exe --handler vdisk_nullio --state-dir $work/state-ours-null"
fi
tag=$$
tgtd_lun=/dev/shm/scst-bench-tgtd-$tag.img
scst_lun=/dev/shm/scst-bench-ours-$tag.img
scst_null_lun=/dev/shm/scst-bench-ours-null-$tag.img
tgtd_iqn_disk=iqn.2026-11.org.scst-dotnet.bench:tgtd-disk
tgtd_iqn_null=iqn.2026-11.org.scst-dotnet.bench:tgtd-null
initiator_prefix=iqn.2026-11.org.scst-dotnet.bench:load
clk_tck=$(getconf CLK_TCK)

tgtd_wrapper="" tgtd_pid="" scst_wrapper="" scst_pid="" scst_null_wrapper="" client_pids=()
failures=0 verify_failures=0

log() { echo "[bench] $*" >&2; }

# --- cleanup: runs on normal exit, error and Ctrl-C ----------------------------------------------------------------
cleaned=0
cleanup() {
  [[ $cleaned -eq 1 ]] && return
  cleaned=1
  set +e
  for p in "${client_pids[@]}"; do
    kill -TERM "$p" 2>/dev/null   # timeout passes it on to the load generator
  done
  for p in "${client_pids[@]}"; do wait "$p" 2>/dev/null; done
  for w in "$scst_wrapper" "$scst_null_wrapper"; do
    if [[ -n $w ]] && kill -0 "$w" 2>/dev/null; then
      log "stopping our target (process group $w)"
      kill -TERM -- "-$w" 2>/dev/null
      for _ in $(seq 50); do kill -0 "$w" 2>/dev/null || break; sleep 0.1; done
      kill -KILL -- "-$w" 2>/dev/null
    fi
  done
  if [[ -n $tgtd_wrapper ]] && kill -0 "$tgtd_wrapper" 2>/dev/null; then
    # tgtd ignores SIGTERM while targets exist: delete them, then ask the daemon to exit.
    log "stopping tgtd (pid $tgtd_pid)"
    for tid in 1 2; do
      timeout 10 tgtadm -C "$tgtd_control" --lld iscsi --mode target --op delete --force --tid "$tid" >/dev/null 2>&1
    done
    timeout 10 tgtadm -C "$tgtd_control" --mode system --op delete >/dev/null 2>&1
    for _ in $(seq 50); do kill -0 "$tgtd_wrapper" 2>/dev/null || break; sleep 0.1; done
    kill -TERM "$tgtd_wrapper" 2>/dev/null
    sleep 0.5
    kill -KILL "$tgtd_wrapper" 2>/dev/null
    [[ -n $tgtd_pid ]] && kill -KILL "$tgtd_pid" 2>/dev/null
  fi
  wait 2>/dev/null
  if [[ -n $log_dir ]]; then
    mkdir -p "$log_dir" && cp "$work"/*.log "$work"/runs.tsv "$log_dir"/ 2>/dev/null
  fi
  rm -f "$tgtd_lun" "$scst_lun" "$scst_null_lun"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT TERM

# --- tools ---------------------------------------------------------------------------------------------------------
need=()
command -v tgtd >/dev/null && command -v tgtadm >/dev/null || need+=(tgt)
command -v iscsi-perf >/dev/null || need+=(libiscsi-bin)
[[ -e /usr/include/iscsi/iscsi.h ]] || need+=(libiscsi-dev)
command -v cc >/dev/null || need+=(gcc libc6-dev)
if [[ ${#need[@]} -gt 0 ]]; then
  log "installing ${need[*]}"
  sudo=(); [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" </dev/null >&2
fi

if [[ -z $load_src ]]; then
  for candidate in "$root/../shared/tools/iscsi-load" "$root/../../shared/tools/iscsi-load"; do
    if [[ -f $candidate/iscsi-load.c ]]; then load_src=$candidate; break; fi
  done
fi
[[ -n $load_src && -f $load_src/iscsi-load.c ]] || { echo "iscsi-load source not found (use --iscsi-load-src DIR)" >&2; exit 2; }
cp "$load_src"/iscsi-load.c "$work/"
log "building iscsi-load from $load_src"
cc -O2 -Wall -Wextra -o "$work/iscsi-load" "$work/iscsi-load.c" -liscsi

# --- workloads -----------------------------------------------------------------------------------------------------
# id|row name|command prefix (URL appended)|bytes per I/O|which LUNs (all, or data: not the null backends)|goal|sessions
# goal: what issue 11 asks of our row against tgtd's: iops:1.5 = IOPS at least 1.5x, mbps:1.2 = MB/s at least 1.2x,
# p50:0.8 = p50 latency at most 0.8x, - = none; every row but the verify run also asks CPU per I/O at most 0.7x.
L=$work/iscsi-load
workloads=()
IFS=',' read -r -a wanted <<<"$workload_list"
for w in "${wanted[@]}"; do
  case $w in
    perf-randread) workloads+=("$w|4k-randread-qd32 (iscsi-perf)|iscsi-perf -b 8 -m 32 -r -t $seconds|4096|all|iops:1.5|1") ;;
    load-randread) workloads+=("$w|4k-randread-qd32|$L --rw randread --bs 4k --qd 32 --seconds $seconds|4096|all|iops:1.5|1") ;;
    load-randwrite) workloads+=("$w|4k-randwrite-qd32|$L --rw randwrite --bs 4k --qd 32 --seconds $seconds|4096|all|iops:1.5|1") ;;
    load-seqread128k) workloads+=("$w|128k-read-qd8|$L --rw read --bs 128k --qd 8 --seconds $seconds|131072|all|mbps:1.2|1") ;;
    load-seqwrite128k) workloads+=("$w|128k-write-qd8|$L --rw write --bs 128k --qd 8 --seconds $seconds|131072|all|mbps:1.2|1") ;;
    load-qd1read) workloads+=("$w|4k-randread-qd1|$L --rw randread --bs 4k --qd 1 --seconds $seconds|4096|all|p50:0.8|1") ;;
    load-randrw70) workloads+=("$w|4k-randrw70-qd32|$L --rw randrw --mix 70 --bs 4k --qd 32 --seconds $seconds|4096|all|-|1") ;;
    # The null backends keep no data, so only the file LUNs are verified. --size keeps the fill and read-back short.
    load-verify) workloads+=("$w|4k-randrw70-qd32-verify|$L --rw randrw --mix 70 --bs 4k --qd 32 --seconds $seconds --verify --size 256m|4096|data|verify|1") ;;
    scale-1|scale-2|scale-4|scale-8)
      workloads+=("$w|4k-randread-qd32 x${w#scale-}|$L --rw randread --bs 4k --qd 32 --seconds $seconds|4096|all|-|${w#scale-}") ;;
    *) echo "unknown workload: $w" >&2; exit 2 ;;
  esac
done

# --- helpers -------------------------------------------------------------------------------------------------------
wait_port() { # port seconds
  local deadline=$(( SECONDS + $2 ))
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    (( SECONDS < deadline )) || return 1
    sleep 0.2
  done
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# CPU ticks (utime+stime) of a process and all its descendants (a `dotnet run` wrapper and its app, for example).
tree_ticks() {
  local pid=$1 total=0 stat rest child
  if [[ -r /proc/$pid/stat ]]; then
    stat=$(<"/proc/$pid/stat")
    rest=${stat##*) }               # fields from 3 (state) on; comm may contain spaces
    read -r -a f <<<"$rest"
    total=$(( f[11] + f[12] ))      # fields 14 and 15: utime, stime
    for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
      total=$(( total + $(tree_ticks "$child") ))
    done
  fi
  echo "$total"
}

# The value of key=value in an iscsi-load output line.
field() { grep -o " $1=[0-9.]*" <<<" $2" | head -n1 | cut -d= -f2; }

# Median of whitespace-separated numbers (the mean of the middle two for an even count); empty for none.
median() {
  awk -v s="$1" 'BEGIN {
    n = split(s, v, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    if (n == 0) exit
    if (n % 2) print v[(n + 1) / 2]; else print (v[n / 2] + v[n / 2 + 1]) / 2
  }'
}

tgtadm_() { timeout 10 tgtadm -C "$tgtd_control" --lld iscsi "$@" >/dev/null; }

# --- start tgtd -----------------------------------------------------------------------------------------------------
n_targets=$(( 1 + with_null + (${#scst_cmd} > 0) + (${#scst_null_cmd} > 0) ))
n_runs=0
for w in "${workloads[@]}"; do
  IFS='|' read -r _ _ _ _ luns _ _ <<<"$w"
  if [[ $luns == data ]]; then n_runs=$(( n_runs + 1 + (${#scst_cmd} > 0) )); else n_runs=$(( n_runs + n_targets )); fi
done
n_runs=$(( n_runs * reps ))
# Upper bound for every background process: all runs (login, verify fill and read-back included), plus setup slack.
max_runtime=$(( n_runs * (seconds + 30) + n_targets * (2 * warmup + 30) + 300 ))
log "$n_runs runs of $seconds s: about $(( (n_runs * (seconds + 1) + n_targets * 2 * warmup + 59) / 60 )) minutes"

read -r load1 _ < /proc/loadavg
if awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }'; then
  log "warning: load average $load1 before start: the machine is not idle, so compare only rows of this run"
fi
port_free "$tgtd_port" || { echo "port $tgtd_port is in use (--tgtd-port)" >&2; exit 2; }
# Data LUNs are allocated up front (tmpfs pages exist, reads of them copy real pages on both targets).
fallocate -l 1G "$tgtd_lun"
log "starting tgtd on 127.0.0.1:$tgtd_port (control port $tgtd_control)"
timeout --signal=KILL "$max_runtime" tgtd -f -C "$tgtd_control" --iscsi "portal=127.0.0.1:$tgtd_port" >"$work/tgtd.log" 2>&1 &
tgtd_wrapper=$!
wait_port "$tgtd_port" 15 || { echo "tgtd did not listen on $tgtd_port:" >&2; cat "$work/tgtd.log" >&2; exit 1; }
tgtd_pid=$(pgrep -P "$tgtd_wrapper" | head -n1)
tgtadm_ --mode target --op new --tid 1 --targetname "$tgtd_iqn_disk"
tgtadm_ --mode logicalunit --op new --tid 1 --lun 1 --backing-store "$tgtd_lun"
tgtadm_ --mode target --op bind --tid 1 --initiator-address 127.0.0.1
if [[ $with_null -eq 1 ]]; then
  tgtadm_ --mode target --op new --tid 2 --targetname "$tgtd_iqn_null"
  tgtadm_ --mode logicalunit --op new --tid 2 --lun 1 --bstype null --backing-store /dev/null
  tgtadm_ --mode target --op bind --tid 2 --initiator-address 127.0.0.1
fi

# name|url|pid|kind (data or null)|reference row for the ratios
targets=("tgtd|iscsi://127.0.0.1:$tgtd_port/$tgtd_iqn_disk/1|$tgtd_pid|data|-")
[[ $with_null -eq 1 ]] && targets+=("tgtd-null|iscsi://127.0.0.1:$tgtd_port/$tgtd_iqn_null/1|$tgtd_pid|null|-")

# --- start our target ----------------------------------------------------------------------------------------------
start_ours() { # row-name cmd port lun-file log-file kind reference; sets started_wrapper
  local name=$1 cmd=$2 port=$3 lun=$4 logf=$5 kind=$6 ref=$7 pid
  port_free "$port" || { echo "port $port is in use (--scst-port)" >&2; exit 2; }
  if [[ $kind == data ]]; then fallocate -l 1G "$lun"; fi
  if [[ $cmd == *"{portal}"* || $cmd == *"{file}"* ]]; then
    cmd=${cmd//\{portal\}/127.0.0.1:$port}
    cmd=${cmd//\{file\}/$lun}
    cmd=${cmd//\{size\}/1G}
    cmd=${cmd//\{target\}/$scst_target}
  else
    cmd="$cmd --portal 127.0.0.1:$port --file $lun --size 1G --block-size 512 --target $scst_target"
  fi
  log "starting our target ($name): $cmd"
  # setsid: own process group, so that cleanup can stop the whole tree by its id.
  setsid timeout --signal=KILL "$max_runtime" bash -c "exec $cmd" >"$logf" 2>&1 </dev/null &
  started_wrapper=$!
  wait_port "$port" 120 || { echo "our target ($name) did not listen on $port:" >&2; tail -n 30 "$logf" >&2; exit 1; }
  pid=$(pgrep -P "$started_wrapper" | head -n1)
  targets+=("$name|iscsi://127.0.0.1:$port/$scst_target/0|$pid|$kind|$ref")
}
started_wrapper=""
if [[ -n $scst_cmd ]]; then
  start_ours ours "$scst_cmd" "$scst_port" "$scst_lun" "$work/scst.log" data tgtd
  scst_wrapper=$started_wrapper
  if [[ -n $scst_url ]]; then
    IFS='|' read -r _ _ p k r <<<"${targets[-1]}"; targets[-1]="ours|$scst_url|$p|$k|$r"
  fi
fi
if [[ -n $scst_null_cmd ]]; then
  # tgtd-null when it runs, else nothing to compare with.
  start_ours ours-null "$scst_null_cmd" $(( scst_port + 1 )) "$scst_null_lun" "$work/scst-null.log" null \
    "$([[ $with_null -eq 1 ]] && echo tgtd-null || echo -)"
  scst_null_wrapper=$started_wrapper
fi

# --- running ---------------------------------------------------------------------------------------------------------
# Per cell (target|workload id): space-separated values of each rep, reduced to medians in the table.
declare -A v_iops v_mbps v_p50 v_p99 v_cpu v_smin errors
printf 'rep\ttarget\tworkload\tstatus\tcpu_ticks\tclient output\n' >"$work/runs.tsv"

keep_failed_output() { # target-name workload-id session
  [[ -n $log_dir ]] || return 0
  mkdir -p "$log_dir"
  cp "$work/client-$3.out" "$log_dir/$1-$2-$3-client.out" 2>/dev/null
  cp "$work/client-$3.err" "$log_dir/$1-$2-$3-client.err" 2>/dev/null
}

run_one() { # rep target-name url pid workload
  local rep=$1 name=$2 url=$3 pid=$4
  local id wname cmd bytes luns goal sessions
  IFS='|' read -r id wname cmd bytes luns goal sessions <<<"$5"
  local key="$name|$id" t0 t1 c0 c1 s status out iops ios p50 p99 failed=0 sum_iops=0 sum_ios=0 smin=""
  local -a statuses=() p50s=() p99s=()
  log "rep $rep/$reps $name: $wname"
  c0=$(tree_ticks "$pid"); t0=$(date +%s.%N)
  client_pids=()
  for (( s = 1; s <= sessions; s++ )); do
    # In the background plus `wait`, so that Ctrl-C interrupts at once (bash runs traps only between commands).
    # Each session logs in under its own initiator name (its own I_T nexus) and draws its own random LBAs.
    local extra=()
    [[ $cmd == "$L "* ]] && extra=(--initiator "$initiator_prefix-$s" --seed "$s")
    timeout --signal=KILL $(( seconds + 120 )) $cmd "${extra[@]}" "$url" >"$work/client-$s.out" 2>"$work/client-$s.err" &
    client_pids+=($!)
  done
  for (( s = 1; s <= sessions; s++ )); do
    status=0; wait "${client_pids[s - 1]}" || status=$?
    statuses+=("$status")
  done
  client_pids=()
  t1=$(date +%s.%N); c1=$(tree_ticks "$pid")
  for (( s = 1; s <= sessions; s++ )); do
    out=$(<"$work/client-$s.out")
    status=${statuses[s - 1]}
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$name" "$id" "$status" $(( c1 - c0 )) "$(tr '\n' ' ' <<<"$out")" >>"$work/runs.tsv"
    if [[ $cmd == iscsi-perf* ]]; then
      iops=$(sed -n 's/.*iops average \([0-9.]*\).*/\1/p' <<<"$out" | tail -n1)
      ios=$(awk -v i="${iops:-0}" -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", i * (b - a) }')
      p50="" p99=""
    else
      iops=$(field iops "$out"); ios=$(field ios "$out")
      p50=$(field lat_us_p50 "$out"); p99=$(field lat_us_p99 "$out")
    fi
    if [[ $goal == verify ]]; then
      local mismatches verified
      mismatches=$(field mismatches "$out"); verified=$(field verified "$out")
      if [[ ${mismatches:-0} -ne 0 || ${verified:-0} -eq 0 ]]; then
        verify_failures=$(( verify_failures + 1 ))
        {
          echo "[bench] !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
          echo "[bench] !!! VERIFY FAILED on $name (rep $rep): mismatches=${mismatches:-?} verified=${verified:-?} exit $status"
          grep -m 10 -i 'mismatch\|fatal' "$work/client-$s.err" | sed 's/^/[bench] !!!   /'
          echo "[bench] !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
        } >&2
        failed=1
      fi
    fi
    if [[ $status -ne 0 || -z $iops || -z $ios || $ios -eq 0 ]]; then
      log "$name: $wname, session $s failed (exit $status): $(tail -n 3 "$work/client-$s.err" | tr '\n' ' ')"
      failed=1
    fi
    [[ $failed -eq 1 ]] && keep_failed_output "$name" "$id" "$s"
    [[ $failed -eq 1 ]] && continue
    sum_iops=$(awk -v a="$sum_iops" -v b="$iops" 'BEGIN { print a + b }')
    sum_ios=$(( sum_ios + ios ))
    smin=$(awk -v a="$smin" -v b="$iops" 'BEGIN { print (a == "" || b < a) ? b : a }')
    p50s+=("$p50"); p99s+=("$p99")
  done
  if [[ $failed -eq 1 ]]; then
    errors[$key]=1
    failures=$(( failures + 1 ))
    [[ $keep_going -eq 1 ]] || { log "stopping at the first failure (--keep-going continues)"; exit 1; }
    return
  fi
  v_iops[$key]+=" $sum_iops"
  v_mbps[$key]+=" $(awk -v x="$sum_iops" -v b="$bytes" 'BEGIN { print x * b / 1e6 }')"
  # Latency of a multi-session run: the worst session's.
  [[ -n ${p50s[0]} ]] && v_p50[$key]+=" $(printf '%s\n' "${p50s[@]}" | sort -g | tail -n1)"
  [[ -n ${p99s[0]} ]] && v_p99[$key]+=" $(printf '%s\n' "${p99s[@]}" | sort -g | tail -n1)"
  v_cpu[$key]+=" $(awk -v d=$(( c1 - c0 )) -v hz="$clk_tck" -v n="$sum_ios" 'BEGIN { print d / hz * 1e6 / n }')"
  v_smin[$key]+=" $smin"
}

start_time=$(date -u +%H:%M)
if [[ $warmup -gt 0 ]]; then
  for t in "${targets[@]}"; do
    IFS='|' read -r tname turl _ <<<"$t"
    log "warm-up: $tname"
    for shape in "--bs 4k --qd 32" "--bs 128k --qd 8"; do
      timeout --signal=KILL $(( warmup + 60 )) "$L" --rw randrw --mix 70 $shape --seconds "$warmup" \
        --initiator "$initiator_prefix-warmup" "$turl" >/dev/null 2>"$work/warmup.err" ||
        log "warm-up of $tname failed: $(tail -n 3 "$work/warmup.err" | tr '\n' ' ')"
    done
  done
fi
for (( rep = 1; rep <= reps; rep++ )); do
  for w in "${workloads[@]}"; do
    IFS='|' read -r _ _ _ _ luns _ _ <<<"$w"
    for t in "${targets[@]}"; do
      IFS='|' read -r tname turl tpid tkind _ <<<"$t"
      [[ $luns == data && $tkind != data ]] && continue
      run_one "$rep" "$tname" "$turl" "$tpid" "$w"
    done
  done
done
read -r load_end _ < /proc/loadavg

# --- tables --------------------------------------------------------------------------------------------------------
fmt() { # printf-format value: "-" when empty
  if [[ -z $2 ]]; then echo -; else awk -v f="$1" -v x="$2" 'BEGIN { printf f, x }'; fi
}
ratio() { # a b: a/b as 1.23x, "-" when either is missing or b is 0
  if [[ -z $1 || -z $2 ]]; then echo -; else awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; fi
}
verdict() { # what ratio limit: "what yes" when the ratio meets the limit
  local r=${2%x}
  [[ $r == - ]] && { echo "$1 ?"; return; }
  case $3 in
    \>=*) awk -v r="$r" -v l="${3#>=}" -v w="$1" 'BEGIN { print w (r >= l ? " yes" : " NO") }' ;;
    \<=*) awk -v r="$r" -v l="${3#<=}" -v w="$1" 'BEGIN { print w (r <= l ? " yes" : " NO") }' ;;
  esac
}

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$root" diff --quiet HEAD -- src samples 2>/dev/null || commit+=" (with local changes)"
echo
echo "$(date -u +%Y-%m-%d) $start_time-$(date -u +%H:%M) UTC, commit $commit, $(nproc) CPUs shared by target and client"
echo "$command_line"
echo "each cell: the median of $reps rep(s) (ratios: of the medians); load average before start $load1, at end $load_end"
echo "CPU = target process tree utime+stime per I/O; p50/p99 = iscsi-load's queue-to-completion latency (iscsi-perf prints none)"
echo "goals of issue 11 for ours/tgtd: IOPS >= 1.5x (4K QD32), MB/s >= 1.2x (128K QD8), p50 <= 0.8x (QD1), CPU <= 0.7x"
row_fmt='%-9s %-30s %9s %8s %7s %7s %8s %10s %7s %7s  %s\n'
has_main=0 has_scale=0
for w in "${workloads[@]}"; do
  IFS='|' read -r id _ _ _ _ _ sessions <<<"$w"
  if [[ $id == scale-* ]]; then has_scale=1; else has_main=1; fi
done
goals_met=0 goals_missed=0

if [[ $has_main -eq 1 ]]; then
  echo
  printf "$row_fmt" target workload IOPS MB/s "p50 us" "p99 us" "CPU us/IO" "rate o/t" "p50 o/t" "CPU o/t" "goals met"
  for w in "${workloads[@]}"; do
    IFS='|' read -r id wname _ _ luns goal _ <<<"$w"
    [[ $id == scale-* ]] && continue
    for t in "${targets[@]}"; do
      IFS='|' read -r tname _ _ tkind tref <<<"$t"
      [[ $luns == data && $tkind != data ]] && continue
      key="$tname|$id"
      if [[ -n ${errors[$key]:-} && -z ${v_iops[$key]:-} ]]; then
        label=error; [[ $goal == verify ]] && label="VERIFY FAILED"
        [[ $tref != - ]] && goals_missed=$(( goals_missed + 1 ))
        printf "$row_fmt" "$tname" "$wname" error - - - - - - - "$label"
        continue
      fi
      iops=$(median "${v_iops[$key]:-}"); mbps=$(median "${v_mbps[$key]:-}")
      p50=$(median "${v_p50[$key]:-}"); p99=$(median "${v_p99[$key]:-}"); cpu=$(median "${v_cpu[$key]:-}")
      # The verify run's target CPU includes the fill and the read-back of the region, so it is not per timed I/O.
      [[ $goal == verify ]] && cpu=""
      rate_r=- p50_r=- cpu_r=- met=-
      if [[ $tref != - ]]; then
        ref="$tref|$id"
        r_iops=$(median "${v_iops[$ref]:-}"); r_mbps=$(median "${v_mbps[$ref]:-}")
        r_p50=$(median "${v_p50[$ref]:-}"); r_cpu=$(median "${v_cpu[$ref]:-}")
        [[ $goal == verify ]] && r_cpu=""
        if [[ $goal == mbps:* ]]; then rate_r=$(ratio "$mbps" "$r_mbps"); else rate_r=$(ratio "$iops" "$r_iops"); fi
        p50_r=$(ratio "$p50" "$r_p50"); cpu_r=$(ratio "$cpu" "$r_cpu")
        verdicts=()
        case $goal in
          iops:*) verdicts+=("$(verdict IOPS "$rate_r" ">=${goal#iops:}")") ;;
          mbps:*) verdicts+=("$(verdict MB/s "$rate_r" ">=${goal#mbps:}")") ;;
          p50:*) verdicts+=("$(verdict p50 "$p50_r" "<=${goal#p50:}")") ;;
        esac
        if [[ $goal == verify ]]; then verdicts+=("verified"); else verdicts+=("$(verdict CPU "$cpu_r" "<=0.7")"); fi
        for m in "${verdicts[@]}"; do
          [[ $m == *" yes" || $m == verified ]] && goals_met=$(( goals_met + 1 ))
          [[ $m == *" NO" || $m == *" ?" ]] && goals_missed=$(( goals_missed + 1 ))
        done
        met=$(IFS=,; echo "${verdicts[*]}"); met=${met//,/, }
      fi
      printf "$row_fmt" "$tname" "$wname" "$(fmt %.0f "$iops")" "$(fmt %.1f "$mbps")" "$(fmt %.0f "$p50")" \
        "$(fmt %.0f "$p99")" "$(fmt %.1f "$cpu")" "$rate_r" "$p50_r" "$cpu_r" "$met"
    done
  done
  [[ ${#targets[@]} -gt 2 ]] && echo "goals met: $goals_met, not met: $goals_missed"
fi

if [[ $has_scale -eq 1 ]]; then
  scale_fmt='%-9s %8s %9s %8s %12s %8s %8s %10s %10s\n'
  echo
  echo "scaling: 4 KiB random reads, QD32 per session, N concurrent iscsi-load processes (one session each); IOPS = sum"
  printf "$scale_fmt" target sessions IOPS MB/s "min sess IOPS" "p99 us" "CPU us/IO" "IOPS o/t" "vs 1 sess"
  for t in "${targets[@]}"; do
    IFS='|' read -r tname _ _ _ tref <<<"$t"
    base=$(median "${v_iops[$tname|scale-1]:-}")
    for w in "${workloads[@]}"; do
      IFS='|' read -r id _ _ _ _ _ sessions <<<"$w"
      [[ $id == scale-* ]] || continue
      key="$tname|$id"
      if [[ -z ${v_iops[$key]:-} ]]; then
        printf "$scale_fmt" "$tname" "$sessions" error - - - - - -
        continue
      fi
      iops=$(median "${v_iops[$key]}")
      r=-; [[ $tref != - ]] && r=$(ratio "$iops" "$(median "${v_iops[$tref|$id]:-}")")
      printf "$scale_fmt" "$tname" "$sessions" "$(fmt %.0f "$iops")" "$(fmt %.1f "$(median "${v_mbps[$key]}")")" \
        "$(fmt %.0f "$(median "${v_smin[$key]}")")" "$(fmt %.0f "$(median "${v_p99[$key]:-}")")" \
        "$(fmt %.1f "$(median "${v_cpu[$key]}")")" "$r" "$(ratio "$iops" "$base")"
    done
  done
fi

if [[ $verify_failures -gt 0 ]]; then
  echo
  echo "!!! VERIFY FAILED: $verify_failures verify run(s) read back data that was not written (see the messages above)"
  exit 1
fi
if [[ $failures -gt 0 ]]; then
  echo
  echo "$failures workload run(s) failed (rows marked error)"
  exit 1
fi
