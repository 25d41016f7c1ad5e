#!/bin/bash
# Sourced by the initiator scripts (not run on its own): the fio write-and-verify job both fabrics run on their disk.
#   fio_write_verify DEV   64 MiB written, every block read back and checked with CRC32C: 4 KiB random writes on
#                          [0, 32 MiB) at depth 8, then 1 MiB sequential writes on [64, 96) MiB at depth 4. The caller
#                          defines ok and fail; the step is called fio-write-verify.
fio_write_verify() {
  local dev=$1
  cat > /tmp/verify.fio <<JOB
[global]
filename=$dev
direct=1
ioengine=libaio
verify=crc32c
verify_fatal=1
do_verify=1
randrepeat=1
randseed=4242
[random-4k]
rw=randwrite
bs=4k
iodepth=8
offset=0
size=32M
[sequential-1m]
stonewall
rw=write
bs=1M
iodepth=4
offset=64M
size=32M
JOB
  fio --output-format=terse --terse-version=3 /tmp/verify.fio > /tmp/fio-write.txt 2>&1 ||
    { cat /tmp/fio-write.txt; fail fio-write-verify "fio reported an error"; }
  ok fio-write-verify "$(awk -F';' '{ printf "%s: write %s KiB/s read %s KiB/s; ", $3, $48, $7 }' /tmp/fio-write.txt)"
}
