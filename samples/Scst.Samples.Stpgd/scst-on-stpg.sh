#!/bin/sh
# Licensed under the Apache License, Version 2.0.
#
# scst-on-stpg.sh: the helper scst-stpgd runs (-p) for each target group whose ALUA state an explicit SET TARGET
# PORT GROUPS changes. Arguments: DEVICE PREV_STATE NEW_STATE DEVICE_GROUP TARGET_GROUP; the same values are in
# SCST_DEVICE_NAME, SCST_PREV_ALUA_STATE, SCST_ALUA_STATE, SCST_DEVICE_GROUP and SCST_TARGET_GROUP.
#
# This one only records the new state in the target, through scst-admin (which finds the target's management socket
# in SCST_MGMT_SOCKET, set by scst-stpgd --mgmt-socket). A real deployment does the work of the transition first:
# fence or demote the old path, promote a replica, and exits non-zero if it cannot; the initiator's STPG then fails.
# Exit 0 only once the state is what SCST_ALUA_STATE says.
#
# SCST_ADMIN names the scst-admin command (default: scst-admin on PATH, which scst-stpgd sets to
# /bin:/usr/bin:/sbin:/usr/sbin); it may hold arguments, for example "dotnet /opt/scst/scst-admin.dll".
set -u

: "${SCST_DEVICE_GROUP:?scst-stpgd sets SCST_DEVICE_GROUP}"
: "${SCST_TARGET_GROUP:?scst-stpgd sets SCST_TARGET_GROUP}"
: "${SCST_ALUA_STATE:?scst-stpgd sets SCST_ALUA_STATE}"

# SCST_ADMIN is split into words on purpose (a command with its arguments).
# shellcheck disable=SC2086
exec ${SCST_ADMIN:-scst-admin} set "device_groups/$SCST_DEVICE_GROUP/target_groups/$SCST_TARGET_GROUP/state" "$SCST_ALUA_STATE"
