#!/bin/bash
# Prints the directory of a built guest image (vmlinuz, initrd.img), building it first when it is missing.
# The image is cached under $SCST_VM_CACHE (default /var/tmp/scst-vm-image) in a directory named after a hash of
# build-image.sh and guest-init.sh: a second run on the same machine reuses it, and an edit of either script builds a
# new one (older ones are removed). A lock keeps two runs from building at once. The build's log goes to stderr.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${SCST_VM_CACHE:-/var/tmp/scst-vm-image}
KEY=$(cat "$HERE/build-image.sh" "$HERE/guest-init.sh" | sha256sum | cut -c1-16)
DIR=$CACHE/$KEY

if [[ ! -f $DIR/ready && $(id -u) -ne 0 ]]; then
  # mmdebstrap builds the rootfs as root; ./test.sh uses sudo the same way for apt-get.
  exec sudo -n env SCST_VM_CACHE="$CACHE" "$0" "$@"
fi
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
if [[ ! -f $DIR/ready ]]; then
  start=$SECONDS
  if ! "$HERE/build-image.sh" "$DIR.building" >&2; then
    echo "image.sh: the image build failed (log above)" >&2
    exit 1
  fi
  echo "$((SECONDS - start))" > "$DIR.building/build-seconds"
  touch "$DIR.building/ready"
  for old in "$CACHE"/*; do
    [[ -d $old && $old != "$DIR.building" ]] && rm -rf "$old"
  done
  mv "$DIR.building" "$DIR"
  echo "image.sh: built $DIR in $(cat "$DIR/build-seconds") s" >&2
fi
echo "$DIR"
