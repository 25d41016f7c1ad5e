#!/bin/bash
# Boots the test guest under qemu in the foreground and returns when it powers off (qemu's exit status).
# TCG, not KVM: the guest must boot on any CI machine, nested virtualisation or not.
#
#   RUNDIR=DIR RUN=iscsi-initiator.sh CONSOLE=DIR/console.log tests/vm/boot.sh
#   SHELL=1 tests/vm/boot.sh                       an interactive guest; Ctrl-A x quits
#
# Environment (all optional):
#   VMDIR     the image (vmlinuz, initrd.img); default: the cached one from image.sh, built when missing
#   RUNDIR    the host directory the guest sees as /mnt/host (virtio-9p); guest/*.sh are copied into it
#             (default: a new temporary directory)
#   RUN       a script in RUNDIR that the guest runs, then powers off
#   CONSOLE   a file for the serial console (default: this terminal)
#   NAME      the guest's host name (default vm); MEM in MiB (default 1024, at least 768: the rootfs lives in RAM);
#             SMP vCPUs (default 1); SHELL=1 a shell after RUN
# Network: qemu user mode (slirp). The guest is 10.0.2.15 and reaches the host's 127.0.0.1 as 10.0.2.2.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v qemu-system-x86_64 >/dev/null || { echo "boot.sh: qemu-system-x86_64 is missing (apt-get install qemu-system-x86; ./test.sh installs it)" >&2; exit 3; }
VMDIR=${VMDIR:-$("$HERE/image.sh")}
RUNDIR=${RUNDIR:-$(mktemp -d /tmp/scst-vm-run.XXXXXX)}
NAME=${NAME:-vm}
mkdir -p "$RUNDIR"
cp "$HERE"/guest/*.sh "$RUNDIR"/

APPEND="console=ttyS0 loglevel=4 panic=-1 vm.name=$NAME"
[[ -n ${RUN:-} ]] && APPEND+=" vm.run=$RUN"
[[ ${SHELL:-0} = 1 ]] && APPEND+=" vm.shell=1"

if [[ -n ${CONSOLE:-} ]]; then
  SERIAL=(-serial "file:$CONSOLE")
else
  SERIAL=(-serial mon:stdio)
fi

exec qemu-system-x86_64 \
  -accel tcg,thread=multi -M q35 -cpu max -m "${MEM:-1024}" -smp "${SMP:-1}" \
  -nodefaults -no-user-config -display none -no-reboot \
  -kernel "$VMDIR/vmlinuz" -initrd "$VMDIR/initrd.img" -append "$APPEND" \
  -device virtio-rng-pci \
  -virtfs "local,path=$RUNDIR,mount_tag=host,security_model=none,id=host0" \
  -netdev user,id=n0,net=10.0.2.0/24,host=10.0.2.2 -device virtio-net-pci,netdev=n0 \
  "${SERIAL[@]}"
