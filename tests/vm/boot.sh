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
#   NET       user (default): qemu's user mode network (slirp); the guest is 10.0.2.15 and reaches the host's
#             127.0.0.1 as 10.0.2.2.
#             tap: virtio-net on the existing tap device $TAP (made by the caller, MTU 9000, up), with host_mtu=$MTU
#             so that the guest's eth0 can take jumbo frames (FCoE needs 2158 bytes); qemu runs in the network
#             namespace $NETNS when it is set (ip netns exec), where the tap is. The guest's eth0 gets no address.
#   TAP, NETNS, MTU (default 9000), MAC (default 52:54:00:fc:0e:01 on a tap, qemu's 52:54:00:12:34:56 on slirp)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v qemu-system-x86_64 >/dev/null || { echo "boot.sh: qemu-system-x86_64 is missing (apt-get install qemu-system-x86; ./test.sh installs it)" >&2; exit 3; }
VMDIR=${VMDIR:-$("$HERE/image.sh")}
RUNDIR=${RUNDIR:-$(mktemp -d /tmp/scst-vm-run.XXXXXX)}
NAME=${NAME:-vm}
mkdir -p "$RUNDIR"
cp "$HERE"/guest/*.sh "$RUNDIR"/

NET=${NET:-user}
PREFIX=()
case $NET in
  user)
    NETARGS=(-netdev user,id=n0,net=10.0.2.0/24,host=10.0.2.2 -device "virtio-net-pci,netdev=n0${MAC:+,mac=$MAC}") ;;
  tap)
    [[ -n ${TAP:-} ]] || { echo "boot.sh: NET=tap needs TAP=<tap device>" >&2; exit 2; }
    NETARGS=(-netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no"
             -device "virtio-net-pci,netdev=n0,host_mtu=${MTU:-9000},mac=${MAC:-52:54:00:fc:0e:01}")
    [[ -n ${NETNS:-} ]] && PREFIX=(ip netns exec "$NETNS") ;;
  *) echo "boot.sh: NET must be user or tap" >&2; exit 2 ;;
esac

APPEND="console=ttyS0 loglevel=4 panic=-1 vm.name=$NAME vm.net=$NET"
[[ -n ${RUN:-} ]] && APPEND+=" vm.run=$RUN"
[[ ${SHELL:-0} = 1 ]] && APPEND+=" vm.shell=1"

if [[ -n ${CONSOLE:-} ]]; then
  SERIAL=(-serial "file:$CONSOLE")
else
  SERIAL=(-serial mon:stdio)
fi

exec "${PREFIX[@]}" qemu-system-x86_64 \
  -accel tcg,thread=multi -M q35 -cpu max -m "${MEM:-1024}" -smp "${SMP:-1}" \
  -nodefaults -no-user-config -display none -no-reboot \
  -kernel "$VMDIR/vmlinuz" -initrd "$VMDIR/initrd.img" -append "$APPEND" \
  -device virtio-rng-pci \
  -virtfs "local,path=$RUNDIR,mount_tag=host,security_model=none,id=host0" \
  "${NETARGS[@]}" \
  "${SERIAL[@]}"
