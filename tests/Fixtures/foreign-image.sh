#!/usr/bin/env bash
# Puts busybox images into a private containerd's image store the way a user would, with
# `ctr images import` of an OCI layout tar (tests/Fixtures/testimage.sh builds it from the fixture's
# busybox root folder, once, beside it), unpacked into overlayfs as `ctr run` expects. Tests then
# make containers from them with `ctr run`, as a host's other tools do.
#
# Usage: foreign-image.sh SOCKET NAMESPACE ROOTFS [NAME]
#   prints NAME (default docker.io/library/pscd-busybox:latest; testimage.sh lists the images).
set -euo pipefail

SOCK="$1"; NS="$2"; ROOTFS="$3"
NAME="${4:-docker.io/library/pscd-busybox:latest}"
here="$(dirname "${BASH_SOURCE[0]}")"
TAR="$(dirname "$ROOTFS")/images.tar"   # the same file as testenv.sh image's
[ -s "$TAR" ] || bash "$here/testimage.sh" build "$ROOTFS" "$TAR"
bash "$here/testimage.sh" import "$SOCK" "$NS" "$TAR" overlayfs
echo "$NAME"
