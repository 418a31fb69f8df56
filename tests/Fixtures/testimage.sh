#!/usr/bin/env bash
# PSContainerd test images, built without a registry from the fixture's busybox root filesystem.
#
# Usage: testimage.sh build ROOTFS OUT.tar
#          writes an OCI image layout tar (oci-layout, index.json, blobs/sha256/...) holding one
#          busybox layer (ROOTFS as an uncompressed tar) and the images below, all on that layer.
#        testimage.sh import SOCKET NAMESPACE OUT.tar [SNAPSHOTTER]
#          `ctr images import` into NAMESPACE, unpacked for SNAPSHOTTER (default overlayfs).
#
# The images (names as containerd stores them):
#   pscd.test/busybox:latest       Env GREETING=hello, WorkingDir /tmp; prints "$GREETING from
#                                  $(pwd)", then loops until SIGTERM (trapped: exit 0).
#   pscd.test/busybox-usr1:latest  StopSignal SIGUSR1; prints "ready", exits 42 on SIGUSR1 and
#                                  ignores SIGTERM (so a stop that sends SIGTERM must force).
#   pscd.test/busybox-multi:latest an index: linux/arm64 first (prints "wrong platform"), then
#                                  linux/amd64 (the busybox image above).
#   docker.io/library/pscd-busybox:latest       a plain busybox image as other tools make them
#                                  (Cmd sh, WorkingDir /), for containers `ctr run` makes.
#   docker.io/library/pscd-busybox-quit:latest  the same with StopSignal SIGQUIT.
set -euo pipefail

die() { echo "testimage: $*" >&2; exit 1; }

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

# moves FILE into the layout's blobs under its digest; prints the digest (hex)
add_blob() {
  local d
  d="$(sha "$1")"
  mv -f "$1" "$LAYOUT/blobs/sha256/$d"
  echo "$d"
}

# config JSON for one image: $1 = the "config" object's members (JSON, without braces), $2 = architecture
write_config() {
  cat > "$LAYOUT/tmp.json" <<EOF
{"architecture":"${2:-amd64}","os":"linux","config":{$1},"rootfs":{"type":"layers","diff_ids":["sha256:$LAYER"]}}
EOF
  add_blob "$LAYOUT/tmp.json"
}

# manifest for the config digest $1; prints the manifest's digest
write_manifest() {
  local cfg="$1"
  cat > "$LAYOUT/tmp.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$cfg","size":$(size "$LAYOUT/blobs/sha256/$cfg")},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:$LAYER","size":$(size "$LAYOUT/blobs/sha256/$LAYER")}]}
EOF
  add_blob "$LAYOUT/tmp.json"
}

# index.json entry naming manifest $2 as image $1 (io.containerd.image.name: the name ctr keeps)
index_entry() {
  local name="$1" m="$2"
  printf '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}' \
    "$m" "$(size "$LAYOUT/blobs/sha256/$m")" "$name" "${name##*:}"
}

# index.json entry naming a nested index: $1 = name, $2 = arm64 manifest, $3 = amd64 manifest
multi_entry() {
  local manifest='{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"}}' idx
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s,%s]}' \
    "$(printf "$manifest" "$2" "$(size "$LAYOUT/blobs/sha256/$2")" arm64)" "$(printf "$manifest" "$3" "$(size "$LAYOUT/blobs/sha256/$3")" amd64)" > "$LAYOUT/tmp.json"
  idx="$(add_blob "$LAYOUT/tmp.json")"
  printf '{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}' \
    "$idx" "$(size "$LAYOUT/blobs/sha256/$idx")" "$1" "${1##*:}"
}

cmd_build() {
  local rootfs="$1" out="$2"
  [ -x "$rootfs/bin/busybox" ] || die "'$rootfs' is not a busybox root filesystem"
  LAYOUT="$out.layout.$$"
  rm -rf "$LAYOUT"
  mkdir -p "$LAYOUT/blobs/sha256"
  # A reproducible layer: sorted names, fixed owner and times, so every run has the same digests.
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$rootfs" -cf "$LAYOUT/layer.tar" .
  LAYER="$(add_blob "$LAYOUT/layer.tar")"

  local path='"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"' plain usr1 arm bare quit
  plain="$(write_manifest "$(write_config "\"Env\":[$path,\"GREETING=hello\"],\"WorkingDir\":\"/tmp\",\"Cmd\":[\"/bin/sh\",\"-c\",\"echo \\\"\$GREETING from \$(pwd)\\\"; trap 'exit 0' TERM; while :; do sleep 0.1; done\"]")")"
  usr1="$(write_manifest "$(write_config "\"Env\":[$path],\"StopSignal\":\"SIGUSR1\",\"Cmd\":[\"/bin/sh\",\"-c\",\"trap 'echo got USR1; exit 42' USR1; trap '' TERM; echo ready; while :; do sleep 0.1; done\"]")")"

  # the busybox layer again, but said to be for arm64: never run here, only to be passed over
  arm="$(write_manifest "$(write_config "\"Env\":[$path],\"Cmd\":[\"/bin/sh\",\"-c\",\"echo wrong platform\"]" arm64)")"

  bare="$(write_manifest "$(write_config "\"Env\":[$path],\"Cmd\":[\"sh\"],\"WorkingDir\":\"/\"")")"
  quit="$(write_manifest "$(write_config "\"Env\":[$path],\"Cmd\":[\"sh\"],\"WorkingDir\":\"/\",\"StopSignal\":\"SIGQUIT\"")")"

  echo '{"imageLayoutVersion":"1.0.0"}' > "$LAYOUT/oci-layout"
  printf '{"schemaVersion":2,"manifests":[%s,%s,%s,%s,%s]}\n' \
    "$(index_entry pscd.test/busybox:latest "$plain")" "$(index_entry pscd.test/busybox-usr1:latest "$usr1")" \
    "$(multi_entry pscd.test/busybox-multi:latest "$arm" "$plain")" \
    "$(index_entry docker.io/library/pscd-busybox:latest "$bare")" "$(index_entry docker.io/library/pscd-busybox-quit:latest "$quit")" > "$LAYOUT/index.json"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$LAYOUT" -cf "$out.tmp.$$" oci-layout index.json blobs
  mv -f "$out.tmp.$$" "$out"
  rm -rf "$LAYOUT"
}

cmd_import() {
  local sock="$1" ns="$2" tar="$3" snapshotter="${4:-overlayfs}"
  [ -f "$tar" ] || die "no image tar at '$tar'"
  timeout 60 ctr --address "$sock" -n "$ns" images import --snapshotter "$snapshotter" "$tar" >/dev/null
}

case "${1:-}" in
  build)  [ $# -eq 3 ] || die "usage: testimage.sh build ROOTFS OUT.tar"; cmd_build "$2" "$3" ;;
  import) [ $# -ge 4 ] || die "usage: testimage.sh import SOCKET NAMESPACE OUT.tar [SNAPSHOTTER]"; cmd_import "$2" "$3" "$4" "${5:-}" ;;
  *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
