#!/bin/bash
# Our FCoE target against the Linux kernel's own (LIO tcm_fc), the same fio job from the same initiator. By hand, not
# part of ./test.sh; needs root, qemu, the guest image (image.sh builds it) and `dotnet build Scst.sln -c Release`.
#
#   Run A (ours): a network namespace with one tap; the sample target (Scst.Samples.Target --fcoe TAP, a 256 MiB LUN
#   file in /dev/shm) on the host, and the initiator guest on the tap.
#   Run B (LIO):  a namespace with a bridge and two taps; guest 1 runs LIO tcm_fc (guest/fcoe-lio-target.sh: a
#   256 MiB fileio backstore on the guest's tmpfs, an ACL for the initiator's WWPN), guest 2 is the same initiator.
#   The initiator guest (guest/fcoe-perf.sh) is the Linux FCoE initiator in VN2VN mode: it logs in, writes the first
#   128 MiB once, runs one fio job file (4k randread QD8, 4k randwrite QD8, 128k read QD4, 128k write QD4, one after
#   another, RUNTIME_S each, direct I/O on [0, 128 MiB)), then a CRC32C verify pass over 32 MiB. Every guest has
#   1 GiB and 1 vCPU.
#
# What the comparison is, and is not: LIO runs inside a TCG guest, a software-emulated CPU, while our target runs
# natively on the host. The table shows what each setup delivers to the same initiator, not an equal-CPU race: the
# host CPU seconds under the table say what each target cost (ours: the target process, utime + stime from
# /proc/PID/stat; LIO: the whole qemu process of guest 1, kernel, tcm_fc, libfc and its emulated network card), and
# the initiator guest's own qemu CPU says whether the initiator, not the target, was the limit.
#
#   tests/vm/compare-fcoe.sh                  both runs and the table
#   RUNS=ours tests/vm/compare-fcoe.sh        one run only (RUNS=lio likewise); the table has only its columns
#   QUIET=0 tests/vm/compare-fcoe.sh          a development run: do not wait for a quiet machine
#
# A measured run starts only on a quiet machine: before each run it waits while `pgrep -f "test.sh|iscsi-test-cu|
# qemu-system"` finds processes that are not this script's (QUIET=1, the default).
# Environment: OUT (default a new /tmp/scst-fcoe-compare.*: each run's consoles, the target's log, table.md),
# RUNTIME_S (20), GUEST_S (the initiator guest's limit, 900), SCST_VM_CACHE (see image.sh).
# Exit status 0 when every run's initiator printed FCOE-PERF PASS (its four jobs measured and VERIFY OK).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
EXE=$ROOT/samples/Scst.Samples.Target/bin/Release/net10.0/Scst.Samples.Target
RUNS=${RUNS:-ours lio}
QUIET=${QUIET:-1}
RUNTIME_S=${RUNTIME_S:-20}
GUEST_S=${GUEST_S:-900}
OUT=${OUT:-$(mktemp -d /tmp/scst-fcoe-compare.XXXXXX)}
LUN_BYTES=268435456
JOBS=(randread-4k randwrite-4k seqread-128k seqwrite-128k)
# The Linux FCoE initiator and tcm_fc's port take their WWPN from the MAC (20:00 followed by it); ours is given.
INI_MAC=52:54:00:fc:0e:01
INI_WWPN=20:00:$INI_MAC
LIO_MAC=52:54:00:fc:0e:02
LIO_WWPN=20:00:$LIO_MAC
OURS_WWPN=20:00:00:00:5c:57:fc:01
HZ=$(getconf CLK_TCK)
[[ $(id -u) -eq 0 ]] || { echo "compare-fcoe.sh: run as root (network namespaces, taps)" >&2; exit 3; }
[[ $RUNS != *ours* || -x $EXE ]] || { echo "$EXE is missing: dotnet build Scst.sln -c Release" >&2; exit 3; }
IMAGE=$("$HERE/image.sh")
mkdir -p "$OUT"

# The targets and guests this script started and has not reaped yet (a reaped PID may be another process's by now).
NAMESPACES=() PIDS=()
reaped() { local p keep=(); for p in "${PIDS[@]}"; do [[ $p = "$1" ]] || keep+=("$p"); done; PIDS=("${keep[@]}"); }
cleanup() {
  local p n
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  for n in "${NAMESPACES[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  rm -f "/dev/shm/scst-fcoe-compare-$$.img"
}
trap cleanup EXIT

# 0x2000525400fc0e01, the spelling of /sys/class/fc_remote_ports/*/port_name.
sysfs_wwpn() { echo "0x$(tr -d : <<<"$1" | tr A-F a-f)"; }

# CPU seconds (user + system) a process has used so far; empty when it is gone.
cpu_s() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  # After "pid (comm) " the fields are numbered from the state (field 3): utime is 14, stime 15.
  awk -v hz="$HZ" '{ printf "%.2f", ($12 + $13) / hz }' <<<"${stat##*) }"
}

# Whether process $1 is this script or one of its descendants.
is_ours() {
  local p=$1 stat
  while ((p > 1)); do
    ((p == $$)) && return 0
    stat=$(cat "/proc/$p/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    p=$(cut -d' ' -f2 <<<"$stat")
  done
  return 1
}

# Waits while processes of other runs (a test suite, iscsi-test-cu, a qemu guest) are there.
wait_quiet() {
  [[ $QUIET = 1 ]] || { echo "QUIET=0: not waiting for a quiet machine"; return 0; }
  local since=$SECONDS said=-60 others p
  while :; do
    others=
    for p in $(pgrep -f "test.sh|iscsi-test-cu|qemu-system" || true); do
      is_ours "$p" || others+=" $p"
    done
    [[ -z $others ]] && break
    if ((SECONDS - said >= 60)); then
      echo "waiting for a quiet machine ($((SECONDS - since)) s so far):"
      for p in $others; do echo "  $p $(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | cut -c1-120)"; done
      said=$SECONDS
    fi
    sleep 5
  done
  echo "quiet after $((SECONDS - since)) s; load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

# A namespace of this run: loopback up, no IPv6 (no router solicitations or MLD reports on the segment).
make_netns() {
  ip netns add "$1"
  NAMESPACES+=("$1")
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$1" link set lo up
}

# A tap for a guest: MTU 9000 for FCoE's 2158-byte frames; a long queue towards the guest stands in for the flow
# control a tap lacks (a real FCoE link is lossless through PFC pause frames).
make_tap() {  # NETNS TAP [BRIDGE]
  ip -n "$1" tuntap add dev "$2" mode tap
  ip -n "$1" link set "$2" mtu 9000 txqueuelen 10000 ${3:+master "$3"} up
}

# Boots a guest in the background: sets GPID to its qemu (boot.sh execs ip netns exec, which execs qemu).
boot_guest() {  # DIR SCRIPT NAME NETNS TAP MAC
  VMDIR=$IMAGE RUNDIR=$1 RUN=$2 CONSOLE=$1/console.log NAME=$3 NETNS=$4 NET=tap TAP=$5 MAC=$6 MEM=1024 SMP=1 \
    "$HERE/boot.sh" > "$1/qemu.log" 2>&1 &
  GPID=$!
  PIDS+=("$GPID")
}

# Whether the console in $1 has a line starting with $2 (the serial console ends lines with \r\n).
console_has() { [[ -f $1/console.log ]] && grep -q "^$2" "$1/console.log"; }

# The initiator guest of a run in DIR against the target with WWPN, on TAP in NETNS; TARGET_PID is the process whose
# CPU time is the target's. Samples both processes' CPU time when the guest prints FIO-START and FIO-END.
run_initiator() {  # DIR NETNS TAP WWPN TARGET_PID
  local dir=$1 start=$SECONDS
  mkdir -p "$dir"
  printf '%s\n' "LUN_BYTES=$LUN_BYTES" "TARGET_WWPN=$(sysfs_wwpn "$4")" "LOGIN_S=90" "RUNTIME_S=$RUNTIME_S" \
    > "$dir/params.sh"
  boot_guest "$dir" fcoe-perf.sh fcoe-initiator "$2" "$3" "$INI_MAC"
  local ipid=$GPID t0= t1=
  while kill -0 "$ipid" 2>/dev/null; do
    if [[ -z $t0 ]] && console_has "$dir" FIO-START; then
      t0=$(date +%s.%N) TCPU0=$(cpu_s "$5") ICPU0=$(cpu_s "$ipid")
    fi
    if [[ -n $t0 && -z $t1 ]] && console_has "$dir" FIO-END; then
      t1=$(date +%s.%N) TCPU1=$(cpu_s "$5") ICPU1=$(cpu_s "$ipid")
    fi
    if ((SECONDS - start > GUEST_S)); then
      echo "the initiator guest did not end within $GUEST_S s: stopped"
      kill "$ipid" 2>/dev/null || true
    fi
    sleep 0.2
  done
  wait "$ipid" 2>/dev/null || true
  reaped "$ipid"
  WINDOW_S=$([[ -n $t0 && -n $t1 ]] && awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }' || echo "?")
  tr -d '\r' < "$dir/console.log" | grep -E '^(VM-READY|STEP|FIO-|PERF|VERIFY|FCOE-PERF|VM-SCRIPT-EXIT)' || true
  echo "initiator guest: $((SECONDS - start)) s"
}

# Keeps what a run measured: R_<what>_<run> variables for the table.
record() {  # RUN DIR TOTAL_CPU WALL
  local run=$1 line job
  for job in "${JOBS[@]}"; do
    line=$(tr -d '\r' < "$2/console.log" | grep "^PERF $job " || true)
    printf -v "R_iops_${run}_${job//-/_}" '%s' "$(sed -n 's/.* iops=\([0-9]*\).*/\1/p' <<<"$line")"
    printf -v "R_kib_${run}_${job//-/_}" '%s' "$(sed -n 's/.* bw_kib=\([0-9]*\).*/\1/p' <<<"$line")"
    printf -v "R_p50_${run}_${job//-/_}" '%s' "$(sed -n 's/.* lat_p50_us=\([0-9]*\).*/\1/p' <<<"$line")"
    printf -v "R_p99_${run}_${job//-/_}" '%s' "$(sed -n 's/.* lat_p99_us=\([0-9]*\).*/\1/p' <<<"$line")"
  done
  local pass=no verify=FAILED
  grep -q '^FCOE-PERF PASS' "$2/console.log" && pass=yes
  grep -q '^VERIFY OK' "$2/console.log" && verify=OK
  printf -v "R_pass_$run" '%s' "$pass"
  printf -v "R_verify_$run" '%s' "$verify"
  printf -v "R_tcpu_$run" '%s' "$(awk -v a="${TCPU0:-}" -v b="${TCPU1:-}" 'BEGIN { if (a == "" || b == "") print "?"; else printf "%.1f", b - a }')"
  printf -v "R_icpu_$run" '%s' "$(awk -v a="${ICPU0:-}" -v b="${ICPU1:-}" 'BEGIN { if (a == "" || b == "") print "?"; else printf "%.1f", b - a }')"
  printf -v "R_window_$run" '%s' "$WINDOW_S"
  printf -v "R_totalcpu_$run" '%s' "$(awk -v a="$3" 'BEGIN { if (a == "") print "?"; else printf "%.1f", a }')"
  printf -v "R_wall_$run" '%s' "$4"
  TCPU0= TCPU1= ICPU0= ICPU1=
}

run_ours() {
  local dir=$OUT/ours ns=scst-fcmp-$$-a start=$SECONDS lun=/dev/shm/scst-fcoe-compare-$$.img tpid i
  echo "=== run A: our target (host, native) on a tap; LUN $lun"
  mkdir -p "$dir"
  make_netns "$ns"
  make_tap "$ns" fcoetap0
  rm -f "$lun"
  ip netns exec "$ns" "$EXE" --file "$lun" --size 256M --portal 127.0.0.1:3260 \
    --fcoe fcoetap0 --fcoe-mode vn2vn --fcoe-wwpn "$OURS_WWPN" > "$dir/target.log" 2>&1 &
  tpid=$!
  PIDS+=("$tpid")
  # Up when its iSCSI portal (inside the namespace, unused) listens.
  for i in $(seq 1 300); do
    ip netns exec "$ns" bash -c 'exec 3<>/dev/tcp/127.0.0.1/3260' 2>/dev/null && break
    kill -0 "$tpid" 2>/dev/null || { cat "$dir/target.log"; return 1; }
    sleep 0.2
  done
  echo "target up after $((SECONDS - start)) s (pid $tpid)"
  run_initiator "$dir/initiator" "$ns" fcoetap0 "$OURS_WWPN" "$tpid"
  local total
  total=$(cpu_s "$tpid")
  echo "target's packet socket: $(ip netns exec "$ns" ss -0 -m -n 2>/dev/null | grep -o 'skmem:([^)]*)' | tr '\n' ' ')"
  echo "tap: $(ip -n "$ns" -s link show fcoetap0 | awk '/RX:|TX:/ { getline; printf "%s ", $0 }')"
  kill -TERM "$tpid" 2>/dev/null || true
  wait "$tpid" 2>/dev/null && echo "target exited with 0" || echo "target exited with $?"
  reaped "$tpid"
  ip netns del "$ns"
  rm -f "$lun"
  record ours "$dir/initiator" "$total" $((SECONDS - start))
  echo "run A: $((SECONDS - start)) s"
}

run_lio() {
  local dir=$OUT/lio ns=scst-fcmp-$$-b start=$SECONDS tpid
  echo "=== run B: LIO tcm_fc in guest 1 (TCG), the initiator in guest 2, one bridge"
  mkdir -p "$dir/target"
  make_netns "$ns"
  ip -n "$ns" link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
  make_tap "$ns" fcoetap0 br0
  make_tap "$ns" fcoetap1 br0
  ip -n "$ns" link set br0 mtu 9000 up
  printf '%s\n' "LUN_BYTES=$LUN_BYTES" "INITIATOR_WWPN=$INI_WWPN" "SERVE_S=$((GUEST_S + 300))" > "$dir/target/params.sh"
  boot_guest "$dir/target" fcoe-lio-target.sh lio-target "$ns" fcoetap1 "$LIO_MAC"
  tpid=$GPID
  while ! console_has "$dir/target" "LIO-TARGET READY"; do
    if ! kill -0 "$tpid" 2>/dev/null || console_has "$dir/target" "STEP [a-z]* FAILED" || ((SECONDS - start > 300)); then
      echo "the LIO guest did not come up:"; tr -d '\r' < "$dir/target/console.log" | tail -40
      return 1
    fi
    sleep 0.5
  done
  tr -d '\r' < "$dir/target/console.log" | grep -E '^(VM-READY|STEP|LIO-TARGET)' || true
  echo "LIO target up after $((SECONDS - start)) s (qemu pid $tpid)"
  run_initiator "$dir/initiator" "$ns" fcoetap0 "$LIO_WWPN" "$tpid"
  local total i
  total=$(cpu_s "$tpid")
  touch "$dir/target/stop"
  for i in $(seq 1 300); do kill -0 "$tpid" 2>/dev/null || break; sleep 0.2; done
  kill "$tpid" 2>/dev/null && echo "the LIO guest did not power off within 60 s: stopped"
  wait "$tpid" 2>/dev/null || true
  reaped "$tpid"
  tr -d '\r' < "$dir/target/console.log" | grep -E '^(STEP serve|  rport|LIO-TARGET DONE|VM-SCRIPT-EXIT)' || true
  ip netns del "$ns"
  record lio "$dir/initiator" "$total" $((SECONDS - start))
  echo "run B: $((SECONDS - start)) s"
}

status=0
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")
git -C "$ROOT" diff --quiet HEAD 2>/dev/null || commit+="+changes"
echo "compare-fcoe: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit, host $(nproc) CPUs, kernel $(uname -r); output in $OUT"
for run in $RUNS; do
  case $run in
    ours|lio) ;;
    *) echo "RUNS: ours and/or lio, not $run" >&2; exit 2 ;;
  esac
  wait_quiet
  "run_$run" || status=1
  v=R_pass_$run
  [[ ${!v:-no} = yes ]] || { echo "run $run: no FCOE-PERF PASS (console in $OUT/$run/initiator/console.log)"; status=1; }
done

# --- the table, in Markdown (README.md has one like it).
get() { local v="R_$1_$2${3:+_${3//-/_}}"; echo "${!v:-}"; }
cell() {  # RUN JOB
  local iops kib
  iops=$(get iops "$1" "$2") kib=$(get kib "$1" "$2")
  [[ -n $iops ]] || { printf '| %8s | %7s | %11s ' - - -; return; }
  printf '| %8s | %7s | %11s ' "$iops" "$(awk -v k="$kib" 'BEGIN { printf "%.1f", k / 1024 }')" "$(get p50 "$1" "$2")/$(get p99 "$1" "$2")"
}
{
  echo "FCoE VN2VN, the Linux initiator in a 1-vCPU TCG guest, fio direct=1 libaio, ${RUNTIME_S} s per job on [0, 128 MiB)"
  echo "(ours: native on the host; LIO tcm_fc: in a second 1-vCPU TCG guest; p50/p99: completion latency)"
  echo
  echo "| job            | ours IOPS | MiB/s | p50/p99 µs | LIO IOPS | MiB/s | p50/p99 µs | ours/LIO |"
  echo "|----------------|---------:|--------:|------------:|---------:|--------:|------------:|---------:|"
  for job in "${JOBS[@]}"; do
    printf '| %-14s ' "$job"
    cell ours "$job"
    cell lio "$job"
    a=$(get iops ours "$job") b=$(get iops lio "$job")
    printf '| %8s |\n' "$(awk -v a="$a" -v b="$b" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }')"
  done
  echo
  echo "| host cost                                   |   ours |    LIO |"
  echo "|---------------------------------------------|-------:|-------:|"
  printf '| %-43s | %6s | %6s |\n' "wall time of the four jobs, s" "$(get window ours)" "$(get window lio)"
  printf '| %-43s | %6s | %6s |\n' "target's host CPU s in the four jobs" "$(get tcpu ours)" "$(get tcpu lio)"
  printf '| %-43s | %6s | %6s |\n' "target's host CPU s in the whole run" "$(get totalcpu ours)" "$(get totalcpu lio)"
  printf '| %-43s | %6s | %6s |\n' "initiator qemu's host CPU s in the four jobs" "$(get icpu ours)" "$(get icpu lio)"
  printf '| %-43s | %6s | %6s |\n' "verify pass (crc32c, 32 MiB)" "$(get verify ours)" "$(get verify lio)"
  printf '| %-43s | %6s | %6s |\n' "wall time of the run, s" "$(get wall ours)" "$(get wall lio)"
  echo
  echo "target's host CPU: ours = the Scst.Samples.Target process, LIO = the qemu process of guest 1 (utime + stime);"
  echo "the whole run counts ours from its start, LIO's guest from its boot, to the initiator's power-off."
} | tee "$OUT/table.md"
exit $status
