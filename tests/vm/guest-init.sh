#!/bin/bash
# PID 1 of the test guest (installed as /init in the initramfs by build-image.sh).
# Kernel command line:
#   vm.name=NAME   host name; the iSCSI initiator name is iqn.2026-11.org.scst-dotnet.vm:NAME
#   vm.run=FILE    runs /mnt/host/FILE (the host's run directory, shared over virtio-9p), then powers off
#   vm.shell=1     an interactive shell on the serial console (after vm.run, if any)
#   vm.net=user    qemu's user mode network (slirp, the default): eth0 is 10.0.2.15/24, the host's 127.0.0.1 is
#                  reached as 10.0.2.2
#   vm.net=tap     a tap on the host (boot.sh NET=tap): eth0 is brought up with no address, so that the guest sends
#                  nothing the run script does not send (FCoE needs only the link)
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=${TERM:-vt100}
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mkdir -p /run/lock
mount -t tmpfs tmpfs /tmp

NAME=vm RUN= SHELL_=0 NET=user
for a in $(cat /proc/cmdline); do
  case $a in
    vm.name=*) NAME=${a#vm.name=} ;;
    vm.run=*) RUN=${a#vm.run=} ;;
    vm.shell=*) SHELL_=${a#vm.shell=} ;;
    vm.net=*) NET=${a#vm.net=} ;;
  esac
done
hostname "$NAME"
echo "InitiatorName=iqn.2026-11.org.scst-dotnet.vm:$NAME" > /etc/iscsi/initiatorname.iscsi

modprobe -a virtio_pci virtio_net virtio_rng 9pnet_virtio 9p sd_mod sg
mkdir -p /mnt/host
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 host /mnt/host 2>/dev/null || echo "no 9p share"

sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 2>/dev/null
ip link set lo up
if [ -e /sys/class/net/eth0 ]; then
  ip link set eth0 up
  if [ "$NET" = user ]; then
    ip addr add 10.0.2.15/24 dev eth0
    ip route add default via 10.0.2.2
  fi
fi
echo "VM-READY name=$NAME net=$NET uptime=$(cut -d' ' -f1 /proc/uptime) kernel=$(uname -r)"

rc=0
if [ -n "$RUN" ]; then
  if [ -f "/mnt/host/$RUN" ]; then
    bash "/mnt/host/$RUN"; rc=$?
  else
    echo "vm.run: /mnt/host/$RUN not found"; rc=127
  fi
  echo "VM-SCRIPT-EXIT rc=$rc uptime=$(cut -d' ' -f1 /proc/uptime)"
fi
if [ "$SHELL_" = 1 ]; then
  echo "interactive shell; 'busybox poweroff -f' or Ctrl-A x ends the guest"
  setsid -c bash -l </dev/ttyS0 >/dev/ttyS0 2>&1
fi
sync
busybox poweroff -f
sleep 5
echo o > /proc/sysrq-trigger
