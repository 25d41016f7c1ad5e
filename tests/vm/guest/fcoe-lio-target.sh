#!/bin/bash
# Runs inside the first guest of compare-fcoe.sh's LIO run (vm.run=fcoe-lio-target.sh, booted with NET=tap): the
# Linux kernel's own FCoE target, LIO's tcm_fc, in VN2VN mode on eth0, set up through sysfs (the fcoe bus) and
# configfs only (no fcoe-utils, no targetcli). One fileio backstore on the guest's tmpfs as LUN 0, visible to one
# initiator: an ACL for its WWPN. It serves until the host creates /mnt/host/stop, then logs out and ends.
#
# Prints "STEP <name> OK|FAILED", "LIO-TARGET READY wwpn=..." once the port is enabled (the host boots the initiator
# then), and "LIO-TARGET DONE" at the end.
#
# params.sh (written by the host):
#   LUN_BYTES=268435456       the size of the backstore (a sparse file in /tmp, which is tmpfs: RAM)
#   INITIATOR_WWPN=20:00:...  the initiator's port name, for the ACL
#   SERVE_S=1800              how long to serve at most without a stop file
. /mnt/host/params.sh
: "${LUN_BYTES:?}" "${INITIATOR_WWPN:?}"
SERVE_S=${SERVE_S:-1800}
uptime_s() { cut -d' ' -f1 /proc/uptime; }
T=$(uptime_s)
elapsed() { awk -v a="$T" -v b="$(uptime_s)" 'BEGIN { printf "%.2f", b - a }'; }
ok() { echo "STEP $1 OK $(elapsed) s${2:+ $2}"; T=$(uptime_s); }
fail() {
  echo "STEP $1 FAILED after $(elapsed) s: $2"
  dmesg | grep -iE 'fcoe|libfc|tcm_fc|target|host[0-9]+:' | tail -40
  exit 1
}
# 0x2000525400fc0e02 -> 20:00:52:54:00:fc:0e:02, the spelling tcm_fc's configfs names ports and ACLs by.
colons() { printf '%016x' "$1" | sed 's/../&:/g; s/:$//'; }

# --- setup: the initiator stack (tcm_fc sits on libfc) and the target core with its fileio backend.
modprobe -a fcoe tcm_fc target_core_file || fail setup "modprobe fcoe tcm_fc target_core_file"
mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config || fail setup "mount configfs"
ip link set eth0 mtu 9000 up || fail setup "eth0 does not take MTU 9000"
ok setup "eth0 mac=$(cat /sys/class/net/eth0/address)"

# --- port: an FCoE controller on eth0 in VN2VN mode; its local port's WWPN names the tcm_fc target.
echo eth0 > /sys/bus/fcoe/ctlr_create || fail port "ctlr_create eth0 failed"
CTLR=$(ls -d /sys/bus/fcoe/devices/ctlr_* 2>/dev/null | head -n1)
HOST=$(ls -d /sys/class/fc_host/host* 2>/dev/null | head -n1)
[ -n "$CTLR" ] && [ -n "$HOST" ] || fail port "no controller or fc_host after ctlr_create"
echo vn2vn > "$CTLR/mode" || fail port "cannot set VN2VN mode"
WWPN=$(colons "$(cat "$HOST/port_name")")
ok port "wwpn=$WWPN"

# --- lio: backstore fileio_0/lun0, target fc/WWPN/tpgt_1 with LUN 0, and the initiator's ACL mapping it.
C=/sys/kernel/config/target
truncate -s "$LUN_BYTES" /tmp/lun0.img || fail lio "cannot create /tmp/lun0.img"
mkdir -p "$C/core/fileio_0/lun0" || fail lio "mkdir core/fileio_0/lun0"
echo "fd_dev_name=/tmp/lun0.img,fd_dev_size=$LUN_BYTES" > "$C/core/fileio_0/lun0/control" || fail lio "fileio control"
echo 1 > "$C/core/fileio_0/lun0/enable" || fail lio "cannot enable the backstore"
TPG=$C/fc/$WWPN/tpgt_1
mkdir -p "$TPG/lun/lun_0" || fail lio "mkdir fc/$WWPN/tpgt_1/lun/lun_0"
ln -s "$C/core/fileio_0/lun0" "$TPG/lun/lun_0/lun0" || fail lio "cannot map the backstore as LUN 0"
mkdir -p "$TPG/acls/$INITIATOR_WWPN/lun_0" || fail lio "mkdir acls/$INITIATOR_WWPN/lun_0"
ln -s "$TPG/lun/lun_0" "$TPG/acls/$INITIATOR_WWPN/lun_0/lun_0" || fail lio "cannot map LUN 0 in the ACL"
ok lio "backstore=fileio /tmp/lun0.img $(cat "$C/core/fileio_0/lun0/info" | tr -s ' \n' ' ' | cut -c1-160)"

# --- serve: enable the port (probe, claim, beacons; the initiator logs in to us) and wait for the host's stop file.
echo 1 > "$CTLR/enabled" || fail serve "cannot enable $CTLR"
echo "LIO-TARGET READY wwpn=$WWPN acl=$INITIATOR_WWPN"
end=$(awk -v n="$SERVE_S" '{ printf "%d", $1 + n }' /proc/uptime)
while [ ! -e /mnt/host/stop ] && awk -v d="$end" '{ exit !($1 < d) }' /proc/uptime; do sleep 1; done
[ -e /mnt/host/stop ] || fail serve "no stop file within $SERVE_S s"
for r in /sys/class/fc_remote_ports/rport-*; do
  [ -e "$r" ] && echo "  $(basename "$r"): port_name=$(cat "$r/port_name") roles=\"$(cat "$r/roles")\" state=$(cat "$r/port_state")"
done
# LIO's own counters of the LUN's target port: what it served.
S=$TPG/lun/lun_0/statistics/scsi_tgt_port
ok serve "in_cmds=$(cat "$S/in_cmds" 2>/dev/null) read_mbytes=$(cat "$S/read_mbytes" 2>/dev/null) write_mbytes=$(cat "$S/write_mbytes" 2>/dev/null)"
echo 0 > "$CTLR/enabled"
echo "LIO-TARGET DONE"
