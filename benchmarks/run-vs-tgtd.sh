#!/usr/bin/env bash
# Runs the same iSCSI load against tgtd (the reference user-space target) and, optionally, against our sample
# target, and prints one table: target, workload, IOPS, MB/s, target CPU us per I/O, ratio ours/tgtd.
# See benchmarks/README.md. Everything binds 127.0.0.1; every process started here is stopped on exit or Ctrl-C.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: benchmarks/run-vs-tgtd.sh [options]
  --seconds N          duration of each workload (default 10)
  --reps N             repetitions, interleaved across targets (default 1)
  --scst-cmd "CMD"     also start our target with CMD; placeholders {portal} {file} {size} {target} are replaced,
                       and without any placeholder the script appends
                       --portal 127.0.0.1:PORT --file FILE --size 1G --block-size 512 --target IQN
  --scst-url URL       URL of our target (default iscsi://127.0.0.1:PORT/IQN/0)
  --scst-null-cmd "CMD" also start a second instance of our target (row "ours-null", compared with tgtd-null) on
                       port PORT+1, same placeholders / appended options as --scst-cmd; meant for
                       "... --handler vdisk_nullio"
  --workloads LIST     comma-separated subset of: perf-randread,load-randwrite,load-randread,load-seqread128k
                       (default: all four)
  --scst-port N        portal port of our target (default 3264)
  --scst-target IQN    target name of our target (default iqn.2026-11.org.scst-dotnet:disk1)
  --tgtd-port N        portal port of tgtd (default 3263)
  --tgtd-control N     tgtd control port (-C, default 3263)
  --no-null            skip tgtd's null-backend target
  --iscsi-load-src DIR source of iscsi-load (default: ../shared/tools/iscsi-load beside the checkout)
  --keep-going         continue after a failed workload (its row shows "error")
  --log-dir DIR        keep the targets' logs (tgtd.log, scst.log, scst-null.log) and the output of failed
                       workloads in DIR
EOF
}

seconds=10 reps=1 scst_cmd="" scst_url="" scst_port=3264 scst_target="iqn.2026-11.org.scst-dotnet:disk1"
tgtd_port=3263 tgtd_control=3263 with_null=1 load_src="" keep_going=0 scst_null_cmd=""
log_dir=""
workload_list="perf-randread,load-randwrite,load-randread,load-seqread128k"
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
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

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d /tmp/scst-bench.XXXXXX)
tag=$$
tgtd_lun=/dev/shm/scst-bench-tgtd-$tag.img
scst_lun=/dev/shm/scst-bench-ours-$tag.img
scst_null_lun=/dev/shm/scst-bench-ours-null-$tag.img
tgtd_iqn_disk=iqn.2026-11.org.scst-dotnet.bench:tgtd-disk
tgtd_iqn_null=iqn.2026-11.org.scst-dotnet.bench:tgtd-null
clk_tck=$(getconf CLK_TCK)
# Upper bound for every background process: all workloads of all targets, plus setup slack.
max_runtime=$(( (seconds + 15) * 4 * 5 * reps + 300 ))

tgtd_wrapper="" tgtd_pid="" scst_wrapper="" scst_pid="" scst_null_wrapper="" client_pid=""

log() { echo "[bench] $*" >&2; }

# --- cleanup: runs on normal exit, error and Ctrl-C ----------------------------------------------------------------
cleaned=0
cleanup() {
  [[ $cleaned -eq 1 ]] && return
  cleaned=1
  set +e
  if [[ -n $client_pid ]]; then
    kill -TERM "$client_pid" 2>/dev/null   # timeout passes it on to the load generator
    wait "$client_pid" 2>/dev/null
  fi
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
    mkdir -p "$log_dir" && cp "$work"/*.log "$log_dir"/ 2>/dev/null
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

tgtadm_() { timeout 10 tgtadm -C "$tgtd_control" --lld iscsi "$@" >/dev/null; }

# --- start tgtd -----------------------------------------------------------------------------------------------------
read -r load1 _ < /proc/loadavg
if awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }'; then
  log "warning: load average $load1 before start: the machine is not idle, so compare only rows of this run"
fi
port_free "$tgtd_port" || { echo "port $tgtd_port is in use (--tgtd-port)" >&2; exit 2; }
truncate -s 1G "$tgtd_lun"
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

# name|url|pid
targets=("tgtd|iscsi://127.0.0.1:$tgtd_port/$tgtd_iqn_disk/1|$tgtd_pid")
[[ $with_null -eq 1 ]] && targets+=("tgtd-null|iscsi://127.0.0.1:$tgtd_port/$tgtd_iqn_null/1|$tgtd_pid")

# --- start our target ----------------------------------------------------------------------------------------------
start_ours() { # row-name cmd port lun-file log-file; sets started_wrapper
  local name=$1 cmd=$2 port=$3 lun=$4 logf=$5 pid
  port_free "$port" || { echo "port $port is in use (--scst-port)" >&2; exit 2; }
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
  targets+=("$name|iscsi://127.0.0.1:$port/$scst_target/0|$pid")
}
started_wrapper=""
if [[ -n $scst_cmd ]]; then
  start_ours ours "$scst_cmd" "$scst_port" "$scst_lun" "$work/scst.log"
  scst_wrapper=$started_wrapper
  if [[ -n $scst_url ]]; then
    last=${targets[-1]}; targets[-1]="ours|$scst_url|${last##*|}"
  fi
fi
if [[ -n $scst_null_cmd ]]; then
  start_ours ours-null "$scst_null_cmd" $(( scst_port + 1 )) "$scst_null_lun" "$work/scst-null.log"
  scst_null_wrapper=$started_wrapper
fi

# --- workloads -----------------------------------------------------------------------------------------------------
# name|command prefix (URL appended)|bytes per I/O
workloads=()
IFS=',' read -r -a wanted <<<"$workload_list"
for w in "${wanted[@]}"; do
  case $w in
    perf-randread) workloads+=("4k-randread-qd32 (iscsi-perf)|iscsi-perf -b 8 -m 32 -r -t $seconds|4096") ;;
    load-randwrite) workloads+=("4k-randwrite-qd32 (iscsi-load)|$work/iscsi-load --rw randwrite --bs 4k --qd 32 --seconds $seconds|4096") ;;
    load-randread) workloads+=("4k-randread-qd32 (iscsi-load)|$work/iscsi-load --rw randread --bs 4k --qd 32 --seconds $seconds|4096") ;;
    load-seqread128k) workloads+=("128k-read-qd8 (iscsi-load)|$work/iscsi-load --rw read --bs 128k --qd 8 --seconds $seconds|131072") ;;
    *) echo "unknown workload: $w" >&2; exit 2 ;;
  esac
done

declare -A iops_sum mbps_sum cpu_sum runs errors
run_one() { # target-name url pid workload-index
  local name=$1 url=$2 pid=$3 w=${workloads[$4]}
  local wname=${w%%|*} rest=${w#*|}
  local cmd=${rest%|*} bytes=${rest##*|}
  local key="$name|$wname" out t0 t1 c0 c1 iops ios status=0 errf
  log "$name: $wname"
  c0=$(tree_ticks "$pid"); t0=$(date +%s.%N)
  # In the background plus `wait`, so that Ctrl-C interrupts at once (bash runs traps only between commands).
  timeout --signal=KILL $(( seconds + 60 )) $cmd "$url" >"$work/client.out" 2>"$work/client.err" &
  client_pid=$!
  wait "$client_pid" || status=$?
  client_pid=""
  out=$(<"$work/client.out")
  t1=$(date +%s.%N); c1=$(tree_ticks "$pid")
  if [[ $cmd == iscsi-perf* ]]; then
    iops=$(sed -n 's/.*iops average \([0-9.]*\).*/\1/p' <<<"$out" | tail -n1)
    ios=$(awk -v i="${iops:-0}" -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", i * (b - a) }')
  else
    iops=$(grep -o ' iops=[0-9.]*' <<<"$out" | cut -d= -f2)
    ios=$(grep -o ' ios=[0-9]*' <<<"$out" | cut -d= -f2)
  fi
  if [[ $status -ne 0 || -z $iops || -z $ios || $ios -eq 0 ]]; then
    log "$name: $wname failed (exit $status): $(tail -n 3 "$work/client.err" | tr '\n' ' ')"
    errf=$log_dir
    if [[ -n $errf ]]; then
      mkdir -p "$errf"
      cp "$work/client.out" "$errf/$name-$4-client.out" 2>/dev/null
      cp "$work/client.err" "$errf/$name-$4-client.err" 2>/dev/null
    fi
    errors[$key]=1
    [[ $keep_going -eq 1 ]] || exit 1
    return
  fi
  iops_sum[$key]=$(awk -v s="${iops_sum[$key]:-0}" -v x="$iops" 'BEGIN { print s + x }')
  mbps_sum[$key]=$(awk -v s="${mbps_sum[$key]:-0}" -v x="$iops" -v b="$bytes" 'BEGIN { print s + x * b / 1e6 }')
  cpu_sum[$key]=$(awk -v s="${cpu_sum[$key]:-0}" -v d=$(( c1 - c0 )) -v hz="$clk_tck" -v n="$ios" \
    'BEGIN { print s + d / hz * 1e6 / n }')
  runs[$key]=$(( ${runs[$key]:-0} + 1 ))
}

for (( rep = 1; rep <= reps; rep++ )); do
  for wi in "${!workloads[@]}"; do
    for t in "${targets[@]}"; do
      IFS='|' read -r tname turl tpid <<<"$t"
      run_one "$tname" "$turl" "$tpid" "$wi"
    done
  done
done

# --- table ---------------------------------------------------------------------------------------------------------
echo
echo "seconds=$seconds reps=$reps (means over reps); CPU = target process tree utime+stime per I/O; $(nproc) CPUs shared by target and client; load average before start: $load1"
printf '%-10s %-32s %10s %9s %10s %14s %13s\n' target workload IOPS MB/s "CPU us/IO" "IOPS ours/tgtd" "CPU ours/tgtd"
for w in "${workloads[@]}"; do
  wname=${w%%|*}
  for t in "${targets[@]}"; do
    tname=${t%%|*}
    key="$tname|$wname"
    if [[ -z ${runs[$key]:-} ]]; then
      printf '%-10s %-32s %10s %9s %10s %14s %13s\n' "$tname" "$wname" error - - - -
      continue
    fi
    n=${runs[$key]}
    iops=$(awk -v s="${iops_sum[$key]}" -v n="$n" 'BEGIN { printf "%.0f", s / n }')
    mbps=$(awk -v s="${mbps_sum[$key]}" -v n="$n" 'BEGIN { printf "%.1f", s / n }')
    cpu=$(awk -v s="${cpu_sum[$key]}" -v n="$n" 'BEGIN { printf "%.1f", s / n }')
    ratio=- cpu_ratio=-
    ref="tgtd|$wname"
    [[ $tname == ours-null ]] && ref="tgtd-null|$wname"
    if [[ $tname == ours* && -n ${runs[$ref]:-} ]]; then
      ratio=$(awk -v a="${iops_sum[$key]}" -v na="$n" -v b="${iops_sum[$ref]}" -v nb="${runs[$ref]}" \
        'BEGIN { printf "%.2fx", (a / na) / (b / nb) }')
      cpu_ratio=$(awk -v a="${cpu_sum[$key]}" -v na="$n" -v b="${cpu_sum[$ref]}" -v nb="${runs[$ref]}" \
        'BEGIN { if (b > 0) printf "%.2fx", (a / na) / (b / nb); else print "-" }')
    fi
    printf '%-10s %-32s %10s %9s %10s %14s %13s\n' "$tname" "$wname" "$iops" "$mbps" "$cpu" "$ratio" "$cpu_ratio"
  done
done
