#!/bin/bash
# Runs inside the guest (vm.run=fcoe-initiator.sh, booted with NET=tap): the Linux kernel's FCoE initiator (fcoe,
# libfcoe, libfc) in VN2VN mode on eth0, set up through the fcoe bus in sysfs (no fcoe-utils), against the target on
# the same Ethernet segment. Prints one "STEP <name> OK|FAILED" line per step, "RPORT" and "FCHOST" lines after the
# login, and "LINUX-FCOE-INITIATOR PASS" when every step passed; the first failure ends it.
#
# params.sh (written by the host):
#   LUN_BYTES=268435456   the size the disk must show
#   TARGET_WWPN=0x...     the target's port name as fc_remote_ports shows it (empty: any FCP target)
#   LOGIN_S=60            how long the login (FIP claim, FLOGI, PLOGI, PRLI, SCSI scan) may take
#
# Disk layout: fio 4 KiB random writes on [0, 32 MiB), fio 1 MiB sequential writes on [64, 96) MiB, a dd pattern of
# 8 MiB at 128 MiB; after a LUN reset the same regions are verified again.
. /mnt/host/params.sh
. /mnt/host/fio-verify.sh
: "${LUN_BYTES:?}"
TARGET_WWPN=${TARGET_WWPN:-}
LOGIN_S=${LOGIN_S:-60}
uptime_s() { cut -d' ' -f1 /proc/uptime; }
# A deadline N seconds from now, and whether it has passed (the loops below fork a lot: under TCG their iterations
# take far longer than their sleeps, so they count time, not iterations).
deadline() { awk -v n="$1" '{ printf "%d", $1 + n }' /proc/uptime; }
before() { awk -v d="$1" '{ exit !($1 < d) }' /proc/uptime; }
T=$(uptime_s)
elapsed() { awk -v a="$T" -v b="$(uptime_s)" 'BEGIN { printf "%.2f", b - a }'; }
ok() { echo "STEP $1 OK $(elapsed) s${2:+ $2}"; T=$(uptime_s); }
fail() {
  echo "STEP $1 FAILED after $(elapsed) s: $2"
  echo "--- diagnostics"
  show_ports
  lsscsi -t 2>&1
  dmesg | grep -E 'fcoe|libfc|host[0-9]+:|rport-|scsi|sd [0-9]+:|\[sd[a-z]+\]' | grep -v 'command line' -i | tail -60
  exit 1
}

# Every fc_host and remote port as the FC transport class shows them.
show_ports() {
  local h r
  for h in /sys/class/fc_host/host*; do
    [ -e "$h" ] || continue
    echo "  $(basename "$h"): port_id=$(cat "$h/port_id") port_name=$(cat "$h/port_name") state=$(cat "$h/port_state")"
  done
  for r in /sys/class/fc_remote_ports/rport-*; do
    [ -e "$r" ] || continue
    echo "  $(basename "$r"): port_id=$(cat "$r/port_id") port_name=$(cat "$r/port_name") roles=$(cat "$r/roles")" \
         "state=$(cat "$r/port_state")"
  done
}

# The remote port that is an FCP target, Online, with the expected name: prints its sysfs directory.
target_rport() {
  local r
  for r in /sys/class/fc_remote_ports/rport-*; do
    [ -e "$r" ] || continue
    [ "$(cat "$r/port_state")" = Online ] || continue
    case "$(cat "$r/roles")" in *"FCP Target"*) ;; *) continue ;; esac
    [ -z "$TARGET_WWPN" ] || [ "$(cat "$r/port_name")" = "$TARGET_WWPN" ] || continue
    echo "$r"
    return 0
  done
  return 1
}

# --- setup: the modules, and eth0 with room for a full FCoE frame (2158 bytes of Ethernet payload).
modprobe -a fcoe sd_mod sg || fail setup "modprobe fcoe"
[ -e /sys/bus/fcoe/ctlr_create ] || fail setup "no /sys/bus/fcoe/ctlr_create after modprobe fcoe"
ip link set eth0 mtu 9000 up || fail setup "eth0 does not take MTU 9000 (boot.sh NET=tap sets host_mtu=9000)"
ok setup "eth0 mac=$(cat /sys/class/net/eth0/address) mtu=$(cat /sys/class/net/eth0/mtu) modules=$(lsmod | awk '/^(fcoe|libfcoe|libfc|scsi_transport_fc) / { printf "%s%s", s, $1; s = "," }')"

# --- vn2vn: an FCoE controller on eth0 in VN2VN mode (FC-BB-6), then enabled: it probes for an N_Port_ID, claims it,
# beacons, and logs in to the VN_Ports it learns.
echo eth0 > /sys/bus/fcoe/ctlr_create || fail vn2vn "ctlr_create eth0 failed"
CTLR=$(ls -d /sys/bus/fcoe/devices/ctlr_* 2>/dev/null | head -n1)
[ -n "$CTLR" ] || fail vn2vn "no ctlr_* under /sys/bus/fcoe/devices after ctlr_create"
echo vn2vn > "$CTLR/mode" || fail vn2vn "cannot set $CTLR/mode to vn2vn"
[ "$(cat "$CTLR/mode")" = VN2VN ] || fail vn2vn "$CTLR/mode reads $(cat "$CTLR/mode")"
echo 1 > "$CTLR/enabled" || fail vn2vn "cannot enable $CTLR"
HOST=$(ls -d /sys/class/fc_host/host* 2>/dev/null | head -n1)
[ -n "$HOST" ] || fail vn2vn "no fc_host after ctlr_create"
ok vn2vn "ctlr=$(basename "$CTLR") mode=$(cat "$CTLR/mode") enabled=$(cat "$CTLR/enabled") fc_host=$(basename "$HOST")"

# --- login: an Online FCP target port and its disk, LUN 0, with the size the target serves.
RPORT= DEV=
end=$(deadline "$LOGIN_S")
while before "$end"; do
  if [ -z "$RPORT" ]; then
    RPORT=$(target_rport)
  fi
  if [ -n "$RPORT" ]; then
    block=$(ls -d /sys/class/fc_remote_ports/"$(basename "$RPORT")"/device/target*/*/block/* 2>/dev/null | head -n1)
    if [ -n "$block" ]; then
      DEV=/dev/$(basename "$block")
      break
    fi
  fi
  sleep 0.1
done
[ -n "$RPORT" ] || fail login "no Online remote port with role FCP Target${TARGET_WWPN:+ and port_name $TARGET_WWPN} within $LOGIN_S s"
[ -n "$DEV" ] || fail login "the FCP target $(basename "$RPORT") is Online, but no disk appeared within $LOGIN_S s"
end=$(deadline 5)
while [ ! -b "$DEV" ] && before "$end"; do sleep 0.1; done
bytes=$(blockdev --getsize64 "$DEV") || fail login "cannot read the size of $DEV"
[ "$bytes" = "$LUN_BYTES" ] || fail login "$DEV has $bytes bytes, the target serves $LUN_BYTES"
ok login "dev=$(basename "$DEV") bytes=$bytes"
echo "RPORT id=$(cat "$RPORT/port_id") wwpn=$(cat "$RPORT/port_name") state=$(cat "$RPORT/port_state") roles=$(cat "$RPORT/roles")"
echo "FCHOST port_id=$(cat "$HOST/port_id") port_name=$(cat "$HOST/port_name") state=$(cat "$HOST/port_state")" \
     "maxframe_size=$(cat "$HOST/maxframe_size" 2>/dev/null | tr -d ' ')"
lsscsi -t | sed 's/^/  lsscsi: /'

# --- fio-write-verify (guest/fio-verify.sh)
fio_write_verify "$DEV"

# --- dd-write, dd-verify-1: an 8 MiB random pattern at 128 MiB, written with O_DIRECT and read back.
head -c $((8 << 20)) /dev/urandom > /tmp/pattern
dd if=/tmp/pattern of="$DEV" bs=1M seek=128 oflag=direct conv=fsync status=none || fail dd-write "dd failed"
ok dd-write "sha256=$(sha256sum < /tmp/pattern | cut -c1-16)"
dd if="$DEV" bs=1M skip=128 count=8 iflag=direct status=none | cmp -s - /tmp/pattern ||
  fail dd-verify-1 "the pattern read back differs"
ok dd-verify-1

# --- lun-reset: a LOGICAL UNIT RESET task management function (libfc sends FCP_CMND with the LUN reset flag); then
# the disk must answer TEST UNIT READY again (the unit attention the reset leaves may come first).
sg_reset -d "$DEV" > /tmp/sg_reset.txt 2>&1 || { cat /tmp/sg_reset.txt; fail lun-reset "sg_reset -d $DEV failed"; }
tur= attempts=0
for i in 1 2 3 4 5; do
  attempts=$i
  sg_turs "$DEV" > /tmp/sg_turs.txt 2>&1; rc=$?
  tur+="${tur:+,}$rc"
  [ $rc = 0 ] && break
  # 6: unit attention; anything else is not what a reset leaves behind.
  [ $rc = 6 ] || { cat /tmp/sg_turs.txt; fail lun-reset "TEST UNIT READY after the reset: sg_turs exit code $rc"; }
  sleep 0.2
done
[ $rc = 0 ] || { cat /tmp/sg_turs.txt; fail lun-reset "TEST UNIT READY still fails after $attempts tries (exit codes $tur)"; }
ok lun-reset "sg_turs exit codes $tur"

# --- fio-verify-only: what was written before the reset is still there.
fio --verify_only --output-format=terse --terse-version=3 /tmp/verify.fio > /tmp/fio-verify.txt 2>&1 ||
  { cat /tmp/fio-verify.txt; fail fio-verify-only "fio found data that does not verify"; }
ok fio-verify-only
dd if="$DEV" bs=1M skip=128 count=8 iflag=direct status=none | cmp -s - /tmp/pattern ||
  fail dd-verify-2 "the pattern read back differs after the reset"
ok dd-verify-2

# --- disable: the controller goes down, libfc logs out of the target; with dev_loss_tmo at 1 s the FC transport
# removes the disk soon after. The remote port stays listed, but not Online.
echo 1 > "$RPORT/dev_loss_tmo" 2>/dev/null
echo 0 > "$CTLR/enabled" || fail disable "cannot disable $CTLR"
gone=
end=$(deadline 30)
while before "$end"; do
  if [ "$(cat "$RPORT/port_state" 2>/dev/null)" != Online ] && [ ! -e "$DEV" ]; then
    gone=1
    break
  fi
  sleep 0.1
done
[ -n "$gone" ] || fail disable "$(basename "$RPORT") is $(cat "$RPORT/port_state" 2>/dev/null) and $DEV is $( [ -e "$DEV" ] && echo there || echo gone) 30 s after enabled=0"
ok disable "$(basename "$RPORT") state=$(cat "$RPORT/port_state" 2>/dev/null || echo removed) fc_host state=$(cat "$HOST/port_state")"

echo "LINUX-FCOE-INITIATOR PASS"
