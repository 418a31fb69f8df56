#!/usr/bin/env bash
# Puts a busybox image into a private containerd's image store the way a user would: an OCI
# layout tar (one uncompressed layer made from the fixture's busybox root folder, a config, a
# manifest, index.json) imported with `ctr images import`, which also unpacks it into the
# snapshotter. Tests then make containers from it with `ctr run`, as a host's other tools do.
#
# Usage: foreign-image.sh SOCKET NAMESPACE ROOTFS [NAME] [STOPSIGNAL]
#   prints the image name (default docker.io/library/pscd-busybox:latest). The tar is built once
#   per (ROOTFS, STOPSIGNAL) next to ROOTFS and reused.
set -euo pipefail

SOCK="$1"; NS="$2"; ROOTFS="$3"
NAME="${4:-docker.io/library/pscd-busybox:latest}"
STOPSIGNAL="${5:-}"
[ -x "$ROOTFS/bin/busybox" ] || { echo "foreign-image: no busybox root folder at $ROOTFS" >&2; exit 1; }

TAR="$(dirname "$ROOTFS")/pscd-busybox${STOPSIGNAL:+-$STOPSIGNAL}.oci.tar"
if [ ! -s "$TAR" ]; then
  work="$(mktemp -d "$(dirname "$ROOTFS")/oci.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/blobs/sha256"
  # numeric owners and a fixed mtime: the same folder gives the same layer digest
  tar --numeric-owner --owner=0 --group=0 --mtime=@0 --sort=name -C "$ROOTFS" -cf "$work/layer.tar" .
  put() { local d; d="$(sha256sum "$1" | cut -d' ' -f1)"; mv "$1" "$work/blobs/sha256/$d"; echo "$d"; }
  size() { stat -c %s "$work/blobs/sha256/$1"; }
  layer="$(put "$work/layer.tar")"
  stop=""
  [ -n "$STOPSIGNAL" ] && stop=",\"StopSignal\":\"$STOPSIGNAL\""
  printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"],"WorkingDir":"/"%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$stop" "$layer" > "$work/config.json"
  config="$(put "$work/config.json")"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}]}' \
    "$config" "$(size "$config")" "$layer" "$(size "$layer")" > "$work/manifest.json"
  manifest="$(put "$work/manifest.json")"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"latest"},"platform":{"architecture":"amd64","os":"linux"}}]}' \
    "$manifest" "$(size "$manifest")" "$NAME" > "$work/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' > "$work/oci-layout"
  tar -C "$work" -cf "$TAR.tmp" oci-layout index.json blobs
  mv -f "$TAR.tmp" "$TAR"
fi

timeout 60 ctr --address "$SOCK" -n "$NS" images import "$TAR" >/dev/null
echo "$NAME"
