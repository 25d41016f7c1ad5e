#!/bin/bash
# Runs inside the guest (vm.run=iscsi-initiator.sh): the Linux kernel's iSCSI initiator (open-iscsi, iscsi_tcp)
# against the target named in /mnt/host/params.sh. Prints one "STEP <name> OK|FAILED" line per step, the negotiated
# digests and the CHAP user names, and "LINUX-INITIATOR PASS" when every step passed; the first failure ends it.
#
# params.sh (written by the host):
#   PORTAL=10.0.2.2:3274  TARGET=iqn...   LUN_BYTES=268435456 (the size the disk must show)
#   DIGEST=None|CRC32C    asks for (and with CRC32C, insists on) header and data digests
#   CHAP_USER= CHAP_SECRET=                 the initiator's CHAP name and secret (empty: AuthMethod None)
#   CHAP_TARGET_USER= CHAP_TARGET_SECRET=   the target's, for mutual CHAP (empty: one-way)
#
# Disk layout: fio 4 KiB random writes on [0, 32 MiB), fio 1 MiB sequential writes on [64, 96) MiB, a dd pattern on
# [128, 136) MiB. Everything written in the first session is verified again in the second.
. /mnt/host/params.sh
. /mnt/host/fio-verify.sh
: "${PORTAL:?}" "${TARGET:?}" "${LUN_BYTES:?}"
DIGEST=${DIGEST:-None}
uptime_s() { cut -d' ' -f1 /proc/uptime; }
T=$(uptime_s)
elapsed() { awk -v a="$T" -v b="$(uptime_s)" 'BEGIN { printf "%.2f", b - a }'; }
ok() { echo "STEP $1 OK $(elapsed) s${2:+ $2}"; T=$(uptime_s); }
fail() {
  echo "STEP $1 FAILED after $(elapsed) s: $2"
  echo "--- diagnostics"
  iscsiadm -m session -P 3 2>&1 | head -60
  dmesg | tail -40
  exit 1
}

# CHAP settings for a node record (node.session.auth) or a discovery record (discovery.sendtargets.auth).
set_chap() {   # MODE-ARGS... PREFIX
  local prefix=${*: -1} args=("${@:1:$#-1}")
  [ -n "${CHAP_USER:-}" ] || return 0
  iscsiadm "${args[@]}" -o update -n "$prefix.authmethod" -v CHAP &&
  iscsiadm "${args[@]}" -o update -n "$prefix.username" -v "$CHAP_USER" &&
  iscsiadm "${args[@]}" -o update -n "$prefix.password" -v "$CHAP_SECRET" || return 1
  if [ -n "${CHAP_TARGET_USER:-}" ]; then
    iscsiadm "${args[@]}" -o update -n "$prefix.username_in" -v "$CHAP_TARGET_USER" &&
    iscsiadm "${args[@]}" -o update -n "$prefix.password_in" -v "$CHAP_TARGET_SECRET" || return 1
  fi
}

# Waits for the session's disk and prints what the login negotiated.
wait_disk() {   # STEP
  local block= i
  for i in $(seq 1 300); do
    block=$(ls -d /sys/class/iscsi_session/session*/device/target*/*/block/* 2>/dev/null | head -n1)
    [ -n "$block" ] && break
    sleep 0.1
  done
  [ -n "$block" ] || fail "$1" "no disk appeared within 30 s of the login"
  DEV=/dev/$(basename "$block")
  local bytes
  bytes=$(blockdev --getsize64 "$DEV") || fail "$1" "cannot read the size of $DEV"
  [ "$bytes" = "$LUN_BYTES" ] || fail "$1" "$DEV has $bytes bytes, the target serves $LUN_BYTES"
  ok "$1" "dev=$(basename "$DEV") bytes=$bytes"
  local c s
  for c in /sys/class/iscsi_connection/connection*; do
    echo "NEGOTIATED $(basename "$c") header_digest=$(cat "$c/header_digest") data_digest=$(cat "$c/data_digest")" \
         "max_recv_dlength=$(cat "$c/max_recv_dlength") max_xmit_dlength=$(cat "$c/max_xmit_dlength")"
  done
  for s in /sys/class/iscsi_session/session*; do
    echo "AUTH $(basename "$s") username=$(cat "$s/username" 2>/dev/null) username_in=$(cat "$s/username_in" 2>/dev/null)"
  done
}

logout() {   # STEP
  iscsiadm -m node -T "$TARGET" -p "$PORTAL" --logout >/dev/null || fail "$1" "iscsiadm --logout failed"
  iscsiadm -m session >/dev/null 2>&1 && fail "$1" "a session is still there after the logout"
  [ -e "$DEV" ] && fail "$1" "$DEV is still there after the logout"
  ok "$1"
}

echo "initiator: $(cat /etc/iscsi/initiatorname.iscsi) portal=$PORTAL target=$TARGET digest=$DIGEST" \
     "chap=${CHAP_USER:-none} mutual=${CHAP_TARGET_USER:-no}"
modprobe -a iscsi_tcp crc32c_generic || fail setup "modprobe iscsi_tcp"
modprobe crc32c_intel 2>/dev/null
mkdir -p /run/lock/iscsi /etc/iscsi/nodes /etc/iscsi/send_targets
iscsid || fail setup "iscsid did not start"
for i in $(seq 1 50); do [ -S /run/iscsid.sock ] || [ -e /run/iscsid.pid ] && break; sleep 0.1; done
ok setup

# --- SendTargets discovery, with the same CHAP credentials as the login when there are any (the target asks for them
# in discovery sessions too).
if [ -n "${CHAP_USER:-}" ]; then
  how=chap
  iscsiadm -m discoverydb -t sendtargets -p "$PORTAL" -o new >/dev/null &&
    set_chap -m discoverydb -t sendtargets -p "$PORTAL" discovery.sendtargets.auth || fail discovery "cannot set discovery CHAP"
  targets=$(iscsiadm -m discoverydb -t sendtargets -p "$PORTAL" --discover 2>&1)
else
  how=none
  targets=$(iscsiadm -m discovery -t sendtargets -p "$PORTAL" 2>&1)
fi
echo "$targets" | sed 's/^/  sendtargets: /'
echo "$targets" | grep -q " $TARGET\$" || fail discovery "SendTargets did not list $TARGET"
ok discovery "auth=$how"

# --- the node record: the address SendTargets reports is the target's own view (127.0.0.1), so the record names the
# portal as the guest reaches it.
iscsiadm -m node -o delete >/dev/null 2>&1
NODE=(-m node -T "$TARGET" -p "$PORTAL")
iscsiadm "${NODE[@]}" -o new >/dev/null || fail node "cannot create the node record"
for k in HeaderDigest DataDigest; do
  iscsiadm "${NODE[@]}" -o update -n "node.conn[0].iscsi.$k" -v "$DIGEST" || fail node "cannot set $k"
done
set_chap "${NODE[@]}" node.session.auth || fail node "cannot set CHAP"
ok node

# --- session 1: write
iscsiadm "${NODE[@]}" --login >/dev/null || fail login-1 "iscsiadm --login failed"
wait_disk login-1

fio_write_verify "$DEV"

head -c 8388608 /dev/urandom > /tmp/pattern
dd if=/tmp/pattern of="$DEV" bs=1M seek=128 oflag=direct conv=fsync status=none || fail dd-write "dd failed"
ok dd-write "sha256=$(sha256sum < /tmp/pattern | cut -c1-16)"
dd if="$DEV" bs=1M skip=128 count=8 iflag=direct status=none | cmp -s - /tmp/pattern ||
  fail dd-verify-1 "the pattern read back differs"
ok dd-verify-1
logout logout-1

# --- session 2: everything written before reads back
iscsiadm "${NODE[@]}" --login >/dev/null || fail login-2 "iscsiadm --login failed"
wait_disk login-2
sed -i "s|^filename=.*|filename=$DEV|" /tmp/verify.fio
fio --verify_only --output-format=terse --terse-version=3 /tmp/verify.fio > /tmp/fio-verify.txt 2>&1 ||
  { cat /tmp/fio-verify.txt; fail fio-verify-only "fio found data that does not verify"; }
ok fio-verify-only
dd if="$DEV" bs=1M skip=128 count=8 iflag=direct status=none | cmp -s - /tmp/pattern ||
  fail dd-verify-2 "the pattern read back differs after a new login"
ok dd-verify-2
logout logout-2

echo "LINUX-INITIATOR PASS"
