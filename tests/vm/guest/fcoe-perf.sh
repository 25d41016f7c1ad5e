#!/bin/bash
# Runs inside the initiator guest of compare-fcoe.sh (vm.run=fcoe-perf.sh, booted with NET=tap): the Linux kernel's
# FCoE initiator (fcoe, libfcoe, libfc) in VN2VN mode logs in to whichever FCoE target is on the segment (ours on the
# host, or LIO tcm_fc in a second guest), then runs one fio job file and a verify pass. The same script for both
# targets, so the two runs differ only in the target.
#
# Prints "STEP <name> OK|FAILED" per step, one "PERF <job> iops= bw_kib= lat_p50_us= lat_p99_us=" line per fio job
# (completion latency percentiles, as fio's terse output reports them), "FIO-START"/"FIO-END" around the measured
# jobs (the host samples the targets' CPU time there), "VERIFY OK" and "FCOE-PERF PASS"; the first failure ends it.
#
# params.sh (written by the host):
#   LUN_BYTES=268435456   the size the disk must show
#   TARGET_WWPN=0x...     the target's port name as fc_remote_ports shows it
#   LOGIN_S=90            how long the login (FIP claim, FLOGI, PLOGI, PRLI, SCSI scan) may take
#   RUNTIME_S=20          seconds each measured job runs
#
# Disk layout: the measured jobs work on [0, 128 MiB), which is written once before them (so that reads find data,
# not holes); the verify pass writes and checks [128, 160) MiB.
. /mnt/host/params.sh
: "${LUN_BYTES:?}" "${TARGET_WWPN:?}"
LOGIN_S=${LOGIN_S:-90}
RUNTIME_S=${RUNTIME_S:-20}
uptime_s() { cut -d' ' -f1 /proc/uptime; }
# Loops count time, not iterations: under TCG a loop's forks take longer than its sleeps.
deadline() { awk -v n="$1" '{ printf "%d", $1 + n }' /proc/uptime; }
before() { awk -v d="$1" '{ exit !($1 < d) }' /proc/uptime; }
T=$(uptime_s)
elapsed() { awk -v a="$T" -v b="$(uptime_s)" 'BEGIN { printf "%.2f", b - a }'; }
ok() { echo "STEP $1 OK $(elapsed) s${2:+ $2}"; T=$(uptime_s); }
fail() {
  echo "STEP $1 FAILED after $(elapsed) s: $2"
  echo "--- diagnostics"
  for r in /sys/class/fc_remote_ports/rport-*; do
    [ -e "$r" ] && echo "  $(basename "$r"): port_name=$(cat "$r/port_name") roles=$(cat "$r/roles") state=$(cat "$r/port_state")"
  done
  lsscsi -t 2>&1
  dmesg | grep -E 'fcoe|libfc|host[0-9]+:|rport-|sd [0-9]+:|\[sd[a-z]+\]' | tail -40
  exit 1
}

# --- setup, vn2vn, login: as fcoe-initiator.sh, through the fcoe bus in sysfs.
modprobe -a fcoe sd_mod sg || fail setup "modprobe fcoe"
ip link set eth0 mtu 9000 up || fail setup "eth0 does not take MTU 9000"
ok setup "eth0 mac=$(cat /sys/class/net/eth0/address)"

echo eth0 > /sys/bus/fcoe/ctlr_create || fail vn2vn "ctlr_create eth0 failed"
CTLR=$(ls -d /sys/bus/fcoe/devices/ctlr_* 2>/dev/null | head -n1)
[ -n "$CTLR" ] || fail vn2vn "no controller after ctlr_create"
echo vn2vn > "$CTLR/mode" || fail vn2vn "cannot set VN2VN mode"
echo 1 > "$CTLR/enabled" || fail vn2vn "cannot enable $CTLR"
HOST=$(ls -d /sys/class/fc_host/host* 2>/dev/null | head -n1)
ok vn2vn "port_name=$(cat "$HOST/port_name")"

RPORT= DEV=
end=$(deadline "$LOGIN_S")
while before "$end"; do
  for r in /sys/class/fc_remote_ports/rport-*; do
    [ -e "$r" ] && [ "$(cat "$r/port_name")" = "$TARGET_WWPN" ] && [ "$(cat "$r/port_state")" = Online ] || continue
    case "$(cat "$r/roles")" in *"FCP Target"*) RPORT=$r ;; esac
  done
  if [ -n "$RPORT" ]; then
    block=$(ls -d "$RPORT"/device/target*/*/block/* 2>/dev/null | head -n1)
    [ -n "$block" ] && [ -b "/dev/$(basename "$block")" ] && { DEV=/dev/$(basename "$block"); break; }
  fi
  sleep 0.2
done
[ -n "$DEV" ] || fail login "no disk of an Online FCP target $TARGET_WWPN within $LOGIN_S s"
bytes=$(blockdev --getsize64 "$DEV")
[ "$bytes" = "$LUN_BYTES" ] || fail login "$DEV has $bytes bytes, the target serves $LUN_BYTES"
ok login "dev=$(basename "$DEV") rport=$(basename "$RPORT") roles=\"$(cat "$RPORT/roles")\" vendor=$(cat /sys/block/"$(basename "$DEV")"/device/vendor | tr -d ' ') maxframe_size=$(cat "$HOST/maxframe_size" | tr -d ' ')"

# --- prefill: [0, 128 MiB) written once, so that the read jobs read data the target holds.
fio --name=prefill --filename="$DEV" --direct=1 --ioengine=libaio --rw=write --bs=1M --iodepth=4 --offset=0 \
    --size=128M --output-format=terse --terse-version=3 > /tmp/prefill.txt 2>&1 ||
  { cat /tmp/prefill.txt; fail prefill "fio reported an error"; }
ok prefill "$(awk -F';' '{ printf "%s KiB/s", $48 }' /tmp/prefill.txt)"

# --- perf: one job file, the jobs one after another (stonewall), each for RUNTIME_S.
cat > /tmp/perf.fio <<JOB
[global]
filename=$DEV
direct=1
ioengine=libaio
time_based=1
runtime=$RUNTIME_S
offset=0
size=128M
percentile_list=50:99
[randread-4k]
stonewall
rw=randread
bs=4k
iodepth=8
[randwrite-4k]
stonewall
rw=randwrite
bs=4k
iodepth=8
[seqread-128k]
stonewall
rw=read
bs=128k
iodepth=4
[seqwrite-128k]
stonewall
rw=write
bs=128k
iodepth=4
JOB
echo "FIO-START uptime=$(uptime_s)"
fio --output-format=terse --terse-version=3 /tmp/perf.fio > /tmp/perf.txt 2>&1; rc=$?
echo "FIO-END uptime=$(uptime_s)"
[ $rc = 0 ] || { cat /tmp/perf.txt; fail perf "fio exit code $rc"; }
# Terse version 3: field 3 is the job's name; the read side starts at field 6 and the write side at 47, each with
# KiB, KiB/s, IOPS, runtime at +0..+3 and 20 completion latency percentiles ("50.000000%=usec") at +12..+31.
awk -F';' '
  NF > 80 && $1 == 3 {
    base = ($6 > 0) ? 6 : 47
    p50 = p99 = "?"
    for (i = base + 12; i <= base + 31; i++) {
      split($i, kv, "=")
      if (kv[1] == "50.000000%") p50 = kv[2]
      if (kv[1] == "99.000000%") p99 = kv[2]
    }
    printf "PERF %s iops=%s bw_kib=%s lat_p50_us=%s lat_p99_us=%s\n", $3, $(base + 2), $(base + 1), p50, p99
  }' /tmp/perf.txt > /tmp/perf-lines.txt
cat /tmp/perf-lines.txt
[ "$(grep -c '^PERF ' /tmp/perf-lines.txt)" = 4 ] || { cat /tmp/perf.txt; fail perf "fio's terse output has not 4 jobs"; }
ok perf

# --- verify: speed must not cost correctness. 32 MiB of 4 KiB random writes at QD 8, read back, CRC32C checked.
fio --name=verify --filename="$DEV" --direct=1 --ioengine=libaio --rw=randwrite --bs=4k --iodepth=8 --offset=128M \
    --size=32M --verify=crc32c --verify_fatal=1 --do_verify=1 --randrepeat=1 --output-format=terse --terse-version=3 \
    > /tmp/verify.txt 2>&1 || { cat /tmp/verify.txt; echo "VERIFY FAILED"; fail verify "fio found data that does not verify"; }
echo "VERIFY OK"
ok verify

# --- disable: log out of the target (LOGO), so that its side ends cleanly too. With dev_loss_tmo at 1 s the disk goes
# at once (else it stays blocked for 60 s, and the sync before the guest's power-off waits for it).
echo 1 > "$RPORT/dev_loss_tmo" 2>/dev/null
echo 0 > "$CTLR/enabled" || fail disable "cannot disable $CTLR"
end=$(deadline 30)
while [ -e "$DEV" ] && before "$end"; do sleep 0.2; done
[ ! -e "$DEV" ] || fail disable "$DEV is still there 30 s after enabled=0"
ok disable
echo "FCOE-PERF PASS"
