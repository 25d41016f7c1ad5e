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
# Environment: RUNDIR (default a new /tmp/scst-vm-run.*; kept: console.log, target.log, fcoe.pcap),
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
# A tap has no flow control (a real FCoE link is lossless through PFC pause frames): its queue towards the guest stands
# in for it. 1000 frames, the default, overflow when the target answers a few 1 MiB reads at once (500 frames each).
ip -n "$NETNS" link set "$TAP" mtu 9000 txqueuelen 10000 up

if [[ $TARGET = 0 ]]; then
  LOGIN_S=${LOGIN_S:-20}
  ip netns exec "$NETNS" tshark -q -i "$TAP" -F pcap -w "$PCAP" -f 'ether proto 0x8914 or ether proto 0x8906' \
    > "$RUNDIR/target.log" 2>&1 &
  TARGET_PID=$!
  sleep 2
else
  LOGIN_S=${LOGIN_S:-60}
  args=(--file "$RUNDIR/lun0.img" --size 256M --portal 127.0.0.1:3275 --fcoe "$TAP" --fcoe-mode vn2vn --fcoe-capture "$PCAP")
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

# The target's packet socket: "d" in skmem counts the frames dropped because its receive buffer was full.
echo "packet sockets: $(ip netns exec "$NETNS" ss -0 -m -n -p 2>/dev/null | grep -o 'skmem:([^)]*)' | tr '\n' ' ')"
# The tap's counters: TX is towards the guest (dropped: qemu did not read its queue in time), RX from the guest.
ip -n "$NETNS" -s link show "$TAP" | sed -n '/RX:/,$p' 
# The target (or tshark) ends first, so that the capture is complete.
kill -TERM "$TARGET_PID" 2>/dev/null || true
wait "$TARGET_PID" 2>/dev/null || true
TARGET_PID=

status=0
# One tshark pass: -z io,stat with one interval and a column per filter; prints the frame count of each filter.
counts() {
  local IFS=,
  tshark -r "$PCAP" -q -z "io,stat,0,$*" 2>/dev/null |
    awk -F'|' '/<>/ { for (i = 3; i < NF; i += 2) { gsub(/ /, "", $i); printf "%s ", $i } print "" }'
}
BAD='_ws.malformed || _ws.expert.severity >= error || fcoe.crc.status == 2'
names=(frames bad "VN2VN-probe-requests" "VN2VN-claims" "VN2VN-beacons" "FIP-FLOGI" "FIP-LS_ACC" PLOGI PRLI
       FCP_CMND FCP_XFER_RDY "FCP_DATA-as-SCSI" FCP_RSP LUN-resets "TMF-responses")
filters=(frame "$BAD" 'fip.opcode == 5 && fip.vn2vn_subcode == 1' 'fip.opcode == 5 && fip.vn2vn_subcode == 3'
         'fip.opcode == 5 && fip.vn2vn_subcode == 5' 'fip.opcode == 2 && fip.ls.subcode == 1 && fcels.opcode == 0x04'
         'fip.opcode == 2 && fip.ls.subcode == 2 && fcels.opcode == 0x02' 'fcels.opcode == 0x03' 'fcels.opcode == 0x20'
         fcp.dl fcp.burstlen 'fc.r_ctl == 0x01 && fc.type == 0x08 && scsi' fcp.status 'fcp.mgmt.flags.lu_reset == 1'
         'fcp.rsp.flags.res_vld == 1 && fcp.rspcode == 0')
read -r -a n < <(counts "${filters[@]}")
((${#n[@]} == ${#filters[@]})) || { echo "tshark cannot read $PCAP"; exit 1; }
line="capture:"
for i in "${!names[@]}"; do line+=" ${names[$i]}=${n[$i]}"; done
echo "$line"
if ((n[1] > 0)); then
  echo "tshark: malformed frames, errors or bad CRCs:"; tshark -r "$PCAP" -Y "$BAD" 2>/dev/null | head -40; status=1
fi
if [[ $TARGET = 0 ]]; then
  ((n[2] > 0 && n[3] > 0)) || { echo "the guest sent no VN2VN probe request or claim notification"; status=1; }
  exit $status
fi
for i in $(seq 3 $((${#names[@]} - 1))); do
  ((n[i] > 0)) || { echo "no ${names[$i]} in the capture (${filters[$i]})"; status=1; }
done
grep -q '^LINUX-FCOE-INITIATOR PASS' "$RUNDIR/console.log" || status=1
exit $status
