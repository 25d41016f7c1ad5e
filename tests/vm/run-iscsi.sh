#!/bin/bash
# By hand, what LinuxInitiatorTests does: the sample target (built by `dotnet build Scst.sln -c Release`) on
# 127.0.0.1:$PORT with a 256 MiB file LUN, and the guest running guest/iscsi-initiator.sh against it.
#
#   tests/vm/run-iscsi.sh                         AuthMethod None, digests None
#   CHAP=1 DIGEST=CRC32C tests/vm/run-iscsi.sh    mutual CHAP and CRC32C digests, demanded by both sides
#
# Environment: PORT (default 3274), RUNDIR (default a new /tmp/scst-vm-run.*; kept: console.log, target.log).
# Exit status 0 when the guest printed LINUX-INITIATOR PASS.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PORT=${PORT:-3274}
CHAP=${CHAP:-0}
DIGEST=${DIGEST:-None}
TARGET=iqn.2026-11.org.scst-dotnet:linux-initiator
RUNDIR=${RUNDIR:-$(mktemp -d /tmp/scst-vm-run.XXXXXX)}
EXE=$ROOT/samples/Scst.Samples.Target/bin/Release/net10.0/Scst.Samples.Target
[[ -x $EXE ]] || { echo "$EXE is missing: dotnet build Scst.sln -c Release" >&2; exit 3; }
IMAGE=$("$HERE/image.sh")
mkdir -p "$RUNDIR"

args=(--file "$RUNDIR/lun0.img" --size 256M --portal "127.0.0.1:$PORT" --target "$TARGET")
chap=(CHAP_USER= CHAP_SECRET= CHAP_TARGET_USER= CHAP_TARGET_SECRET=)
if [[ $CHAP = 1 ]]; then
  args+=(--chap-user linux-initiator --chap-secret initiator-secret-17 --chap-target-user scst-target --chap-target-secret target-secret-42)
  chap=(CHAP_USER=linux-initiator CHAP_SECRET=initiator-secret-17 CHAP_TARGET_USER=scst-target CHAP_TARGET_SECRET=target-secret-42)
fi
[[ $DIGEST = CRC32C ]] && args+=(--header-digest CRC32C --data-digest CRC32C)

"$EXE" "${args[@]}" > "$RUNDIR/target.log" 2>&1 &
TARGET_PID=$!
trap 'kill $TARGET_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  kill -0 $TARGET_PID 2>/dev/null || { cat "$RUNDIR/target.log"; exit 1; }
  sleep 0.2
done

printf '%s\n' "PORTAL=10.0.2.2:$PORT" "TARGET=$TARGET" "LUN_BYTES=268435456" "DIGEST=$DIGEST" "${chap[@]}" > "$RUNDIR/params.sh"
start=$SECONDS
VMDIR=$IMAGE RUNDIR=$RUNDIR RUN=iscsi-initiator.sh CONSOLE=$RUNDIR/console.log NAME=linux-initiator "$HERE/boot.sh" || true
grep -E '^(VM-READY|STEP|NEGOTIATED|AUTH|LINUX-INITIATOR|VM-SCRIPT-EXIT)' "$RUNDIR/console.log" || true
echo "guest ran $((SECONDS - start)) s; logs in $RUNDIR"
grep -q '^LINUX-INITIATOR PASS' "$RUNDIR/console.log"
