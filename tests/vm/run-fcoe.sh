#!/bin/bash
# By hand, what LinuxFcoeInitiatorTests does: a network namespace with one tap device, the sample target (built by
# `dotnet build Scst.sln -c Release`) serving a 256 MiB file LUN over FCoE on that tap, and the guest on the other end
# of the tap running guest/fcoe-initiator.sh (the Linux FCoE initiator in VN2VN mode). Then tshark reads the target's
# capture: no malformed frame, no bad CRC, and FCP commands, data and responses in it. Needs root.
#
#   tests/vm/run-fcoe.sh              the whole run
#   TARGET=0 tests/vm/run-fcoe.sh     no target: tshark on the tap records what the guest sends alone (FIP VN2VN
#                                     probes, claims, beacons); the login step then fails after LOGIN_S (default 20 s)
#
# Environment: RUNDIR (default a new /tmp/scst-vm-run.*; kept: console.log, target.log, fcoe.pcap, tshark.txt),
# TARGET_WWPN (passed to the target as --fcoe-wwpn and checked in the guest), LOGIN_S.
# The namespace (scst-fcoe-<pid>) and everything in it are removed at the end, also on failure.
# Exit status 0 when the guest printed LINUX-FCOE-INITIATOR PASS and the capture checks passed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TARGET=${TARGET:-1}
NETNS=scst-fcoe-$$
TAP=fcoetap0
GUEST_MAC=52:54:00:fc:0e:01
LUN_BYTES=268435456
RUNDIR=${RUNDIR:-$(mktemp -d /tmp/scst-vm-run.XXXXXX)}
EXE=$ROOT/samples/Scst.Samples.Target/bin/Release/net10.0/Scst.Samples.Target
[[ $(id -u) -eq 0 ]] || { echo "run-fcoe.sh: run as root (network namespace, tap device)" >&2; exit 3; }
[[ $TARGET = 0 || -x $EXE ]] || { echo "$EXE is missing: dotnet build Scst.sln -c Release" >&2; exit 3; }
command -v tshark >/dev/null || { echo "run-fcoe.sh: tshark is missing (apt-get install tshark; ./test.sh installs it)" >&2; exit 3; }
IMAGE=$("$HERE/image.sh")
mkdir -p "$RUNDIR"
PCAP=$RUNDIR/fcoe.pcap

TARGET_PID=
cleanup() {
  if [[ -n $TARGET_PID ]]; then
    kill "$TARGET_PID" 2>/dev/null || true
    wait "$TARGET_PID" 2>/dev/null || true
  fi
  ip netns del "$NETNS" 2>/dev/null || true
}
trap cleanup EXIT

ip netns add "$NETNS"
ip -n "$NETNS" link set lo up
ip -n "$NETNS" tuntap add dev "$TAP" mode tap
ip -n "$NETNS" link set "$TAP" mtu 9000 up

if [[ $TARGET = 0 ]]; then
  LOGIN_S=${LOGIN_S:-20}
  ip netns exec "$NETNS" tshark -q -i "$TAP" -F pcap -w "$PCAP" -f 'ether proto 0x8914 or ether proto 0x8906' \
    > "$RUNDIR/target.log" 2>&1 &
  TARGET_PID=$!
  sleep 2
else
  LOGIN_S=${LOGIN_S:-60}
  args=(--file "$RUNDIR/lun0.img" --size 256M --portal 127.0.0.1:3275 --fcoe "$TAP" --fcoe-capture "$PCAP")
  [[ -n ${TARGET_WWPN:-} ]] && args+=(--fcoe-wwpn "$TARGET_WWPN")
  ip netns exec "$NETNS" "$EXE" "${args[@]}" > "$RUNDIR/target.log" 2>&1 &
  TARGET_PID=$!
  # Up when its iSCSI portal (inside the namespace) listens.
  for _ in $(seq 1 300); do
    ip netns exec "$NETNS" bash -c 'exec 3<>/dev/tcp/127.0.0.1/3275' 2>/dev/null && break
    kill -0 $TARGET_PID 2>/dev/null || { cat "$RUNDIR/target.log"; exit 1; }
    sleep 0.2
  done
fi

printf '%s\n' "LUN_BYTES=$LUN_BYTES" "TARGET_WWPN=${TARGET_WWPN:+0x$(tr -d : <<<"${TARGET_WWPN#0x}" | tr A-F a-f)}" \
  "LOGIN_S=$LOGIN_S" > "$RUNDIR/params.sh"
start=$SECONDS
VMDIR=$IMAGE RUNDIR=$RUNDIR RUN=fcoe-initiator.sh CONSOLE=$RUNDIR/console.log NAME=linux-fcoe-initiator \
  NET=tap TAP=$TAP NETNS=$NETNS MAC=$GUEST_MAC "$HERE/boot.sh" || true
grep -E '^(VM-READY|STEP|RPORT|FCHOST|LINUX-FCOE-INITIATOR|VM-SCRIPT-EXIT)' "$RUNDIR/console.log" || true
echo "guest ran $((SECONDS - start)) s; logs in $RUNDIR"

# The target (or tshark) ends first, so that the capture is complete.
kill -TERM "$TARGET_PID" 2>/dev/null || true
wait "$TARGET_PID" 2>/dev/null || true
TARGET_PID=

status=0
count() { tshark -r "$PCAP" -Y "$1" 2>/dev/null | wc -l; }
tshark -r "$PCAP" > "$RUNDIR/tshark.txt" 2>/dev/null || { echo "tshark cannot read $PCAP"; exit 1; }
echo "capture: $(wc -l < "$RUNDIR/tshark.txt") frames; FIP VN2VN probe requests $(count 'fip.opcode == 5 && fip.vn2vn_subcode == 1')," \
     "claim notifications $(count 'fip.opcode == 5 && fip.vn2vn_subcode == 3'), beacons $(count 'fip.opcode == 5 && fip.vn2vn_subcode == 5')"
bad=$(tshark -r "$PCAP" -Y '_ws.malformed || _ws.expert.severity >= error || fcoe.crc.status == 2' 2>/dev/null || true)
if [[ -n $bad ]]; then
  echo "tshark: malformed frames, errors or bad CRCs:"; echo "$bad" | head -40; status=1
fi
if [[ $TARGET = 0 ]]; then
  [[ $(count 'fip.opcode == 5 && fip.vn2vn_subcode == 1') -ge 1 && $(count 'fip.opcode == 5 && fip.vn2vn_subcode == 3') -ge 1 ]] ||
    { echo "the guest sent no VN2VN probe request or claim notification"; status=1; }
  exit $status
fi
echo "FCP: commands $(count 'fcp.dl'), transfer ready $(count 'fcp.burstlen'), data $(count 'fc.r_ctl == 0x01 && fc.type == 0x08')" \
     "(dissected as SCSI $(count 'fc.r_ctl == 0x01 && scsi')), responses $(count 'fcp.status'), LUN resets $(count 'fcp.mgmt.flags.lu_reset == 1')"
for f in fcp.dl fcp.burstlen 'fc.r_ctl == 0x01 && scsi' fcp.status 'fcp.mgmt.flags.lu_reset == 1'; do
  [[ $(count "$f") -ge 1 ]] || { echo "no frame matches $f"; status=1; }
done
grep -q '^LINUX-FCOE-INITIATOR PASS' "$RUNDIR/console.log" || status=1
exit $status
