#!/bin/bash
# Builds the guest for the Linux-initiator tests: a Debian kernel and an initramfs that holds a small Debian rootfs
# with open-iscsi, the FCoE initiator's modules (fcoe, libfcoe, libfc), the kernel's FCoE target (LIO: tcm_fc,
# target_core_mod, target_core_file), fio and sg3-utils, booted by boot.sh under qemu (TCG). Everything comes from
# Debian's archive.
#
#   tests/vm/build-image.sh DIR       builds DIR/vmlinuz and DIR/initrd.img (root; about 1-3 min, 160 MB download)
#
# Usually called through image.sh, which keeps one built image per content of this script and guest-init.sh.
# Environment: SUITE (default bookworm), MIRROR, SECURITY_MIRROR.
set -euo pipefail

VMDIR=${1:?usage: build-image.sh DIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}

missing=()
for tool in mmdebstrap cpio depmod modprobe dpkg-deb apt-get; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
  echo "build-image.sh: missing ${missing[*]} (apt-get install mmdebstrap cpio kmod; ./test.sh installs them)" >&2
  exit 3
fi
[[ $(id -u) -eq 0 ]] || { echo "build-image.sh: run as root (mmdebstrap builds the rootfs in root mode)" >&2; exit 3; }

mkdir -p "$VMDIR"
VMDIR=$(cd "$VMDIR" && pwd)
T0=$SECONDS
stamp() { printf '%-24s %4d s\n' "$1" $((SECONDS - T0)) | tee -a "$VMDIR/build-times.txt"; }
: > "$VMDIR/build-times.txt"

# --- rootfs, and the kernel package of the same suite -----------------------------------------------------------
# The kernel .deb is fetched with the apt configuration mmdebstrap sets up (its own package lists, not the host's),
# and only unpacked: installing it would run the initramfs hooks for nothing.
R=$VMDIR/rootfs
export KERNEL_DEBS=$VMDIR/kernel
# A build killed hard may leave mmdebstrap's /proc, /sys and /dev mounts in the rootfs: never delete through them.
awk -v r="$R/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l
rm -rf "$R" "$KERNEL_DEBS"
mkdir -p "$KERNEL_DEBS"
mmdebstrap --variant=essential --quiet --dpkgopt=force-unsafe-io \
  --include=mount,kmod,iproute2,procps,busybox,open-iscsi,fio,sg3-utils,lsscsi \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --customize-hook='cd "$KERNEL_DEBS" && export APT_CONFIG="$MMDEBSTRAP_APT_CONFIG" &&
      apt-get download -q -o APT::Sandbox::User=root "$(apt-cache depends linux-image-amd64 | sed -n "s/.*Depends: \(linux-image-[0-9][^ ]*\)$/\1/p" | head -n1)"' \
  "$SUITE" "$R" \
  "deb $MIRROR $SUITE main" \
  "deb $MIRROR $SUITE-updates main" \
  "deb $SECURITY_MIRROR $SUITE-security main"
stamp "rootfs + kernel download"

# What a test guest never needs, about 80 MB that every boot would unpack: the Python and Perl that fio's helper
# scripts pull in (perl-base stays), udev's hardware database, time zones, locales, apt state.
rm -rf "$R"/usr/lib/python3* "$R"/usr/bin/python3* "$R"/usr/lib/x86_64-linux-gnu/perl "$R"/usr/share/perl \
       "$R"/usr/bin/perl5.* "$R"/usr/lib/x86_64-linux-gnu/libperl.so* "$R"/usr/lib/udev/hwdb.bin "$R"/usr/lib/udev/hwdb.d \
       "$R"/usr/share/zoneinfo "$R"/usr/share/i18n "$R"/usr/lib/x86_64-linux-gnu/gconv "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*

# --- kernel and the modules the test needs ----------------------------------------------------------------------
KR=$KERNEL_DEBS/root
dpkg-deb -x "$KERNEL_DEBS"/linux-image-*.deb "$KR"
KVER=$(ls "$KR/lib/modules")
depmod -b "$KR" "$KVER"   # the package ships no modules.dep
cp "$KR/boot/vmlinuz-$KVER" "$VMDIR/vmlinuz"
echo "$KVER" > "$VMDIR/kernel-version"
# The digests' crc32c is asked for through the crypto API at run time, so modules.dep does not name it. The FCoE
# initiator (fcoe -> libfcoe, libfc, scsi_transport_fc) computes its frame CRC with the kernel's built-in crc32
# library and asks the crypto API for nothing. The kernel's own FCoE target, LIO's tcm_fc with a fileio backstore
# (target_core_mod, target_core_file, configured through configfs), is there for compare-fcoe.sh.
MODULES="virtio_pci virtio_net virtio_rng 9p 9pnet_virtio sd_mod sg iscsi_tcp crc32c_generic crc32c_intel fcoe
         configfs target_core_mod target_core_file tcm_fc"
for m in $MODULES; do modprobe -d "$KR" -S "$KVER" --show-depends "$m"; done |
  awk '$1 == "insmod" { print $2 }' | sort -u > "$VMDIR/modules.txt"
while read -r ko; do
  install -D -m644 "$ko" "$R/${ko#"$KR"/}"
done < "$VMDIR/modules.txt"
cp "$KR/lib/modules/$KVER"/modules.{order,builtin,builtin.modinfo} "$R/lib/modules/$KVER/"
depmod -b "$R" "$KVER"
rm -rf "$KERNEL_DEBS"
stamp "kernel $KVER, $(wc -l < "$VMDIR/modules.txt") modules"

# --- guest configuration and initramfs --------------------------------------------------------------------------
install -m755 "$HERE/guest-init.sh" "$R/init"
mkdir -p "$R/mnt/host"
echo vm > "$R/etc/hostname"
rm -f "$R/etc/iscsi/initiatorname.iscsi"   # written per boot by guest-init.sh
# A lost connection fails the I/O after 15 s instead of 120 s: a broken target ends the test sooner.
sed -i 's/^node.session.timeo.replacement_timeout = .*/node.session.timeo.replacement_timeout = 15/' "$R/etc/iscsi/iscsid.conf"
# Uncompressed: under TCG, decompressing a zstd initramfs costs more boot time than reading 200 MB.
( cd "$R" && find . -print0 | cpio --null -o -H newc --quiet ) > "$VMDIR/initrd.img"
rm -rf "$R"
stamp "initramfs $(du -m "$VMDIR/initrd.img" | cut -f1) MB"
