#!/usr/bin/env bash
# PSContainerd test fixture: a private containerd plus a busybox root filesystem.
#
# Usage: testenv.sh <command> DIR
#   start DIR         create DIR, write DIR/config.toml, build DIR/rootfs (once), start containerd
#                     on DIR/containerd.sock and wait until it answers; prints the socket path.
#                     Idempotent: does nothing if containerd for DIR already answers.
#   stop DIR          kill and delete every task and container in every namespace, stop containerd,
#                     kill any leftover shim (and its container processes) for DIR, then remove DIR
#                     (unless KEEP=1). Never hangs.
#   restart DIR       kill-daemon + start-daemon (shims and containers survive).
#   kill-daemon DIR   stop containerd only (SIGTERM, SIGKILL after 10 s); shims keep running.
#   start-daemon DIR  start containerd again with the same arguments and wait until it answers.
#   status DIR        exit 0 if containerd for DIR answers, 1 otherwise.
#   env DIR           print CONTAINERD_ADDRESS=..., PSCD_TEST_DIR=..., PSCD_TEST_ROOTFS=... lines.
#   image DIR NS [S]  import the test images (testimage.sh; built into DIR/images.tar once) into
#                     namespace NS, unpacked for snapshotter S (default overlayfs).
#
# Environment: PSCD_START_TIMEOUT (seconds, default 20), KEEP=1 (stop keeps DIR).
# Needs root, containerd, ctr, runc and a static busybox (Debian: containerd runc busybox-static).
set -uo pipefail

die() { echo "testenv: $*" >&2; exit 1; }
log() { echo "testenv: $*" >&2; }

START_TIMEOUT="${PSCD_START_TIMEOUT:-20}"

usage() {
  sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# --- arguments ------------------------------------------------------------------------------
[ $# -ge 2 ] || usage
CMD="$1"
DIR_ARG="$2"
case "$DIR_ARG" in
  /*) ;;
  *) DIR_ARG="$(pwd)/$DIR_ARG" ;;
esac
# normalise: strip trailing slashes (but refuse the root and other dangerous paths)
DIR="$(printf '%s' "$DIR_ARG" | sed 's:/*$::')"
case "$DIR" in
  ""|/|/bin|/boot|/dev|/etc|/home|/lib|/lib64|/opt|/proc|/root|/run|/sbin|/sys|/tmp|/usr|/var|/var/lib|/run/containerd|/var/lib/containerd)
    die "refusing to use '$DIR_ARG' as the fixture folder" ;;
esac
SOCK="$DIR/containerd.sock"
CONFIG="$DIR/config.toml"
ROOTFS="$DIR/rootfs"
PIDFILE="$DIR/containerd.pid"
LOGFILE="$DIR/containerd.log"
MARKER="$DIR/.pscd-testenv"

CTR() { timeout 15 ctr --address "$SOCK" "$@"; }

answers() {
  [ -S "$SOCK" ] || return 1
  timeout 5 ctr --address "$SOCK" version >/dev/null 2>&1
}

# pids whose command line (arguments joined by spaces) matches the glob PATTERN; one pass over
# /proc with bash builtins only (no process started per entry)
pids_matching() {
  local pattern="$1" p cmd
  local -a args
  for p in /proc/[0-9]*; do
    mapfile -d '' -t args 2>/dev/null < "$p/cmdline" || continue
    cmd="${args[*]}"
    # shellcheck disable=SC2053  # the pattern is a glob on purpose
    if [[ "$cmd " == $pattern ]]; then echo "${p#/proc/}"; fi
  done
}

# pids of containerd daemons started for DIR (matched on their command line, not only the pid file)
daemon_pids() { pids_matching "*containerd --config $(printf '%q' "$CONFIG") *"; }

# pids of shims whose containerd address is DIR's socket
shim_pids() { pids_matching "*containerd-shim*$(printf '%q' "$SOCK")*"; }

# descendants, alive, wait_gone
. "$(dirname "${BASH_SOURCE[0]}")/processes.sh"

# cgroup v1: a frozen process ignores SIGKILL until thawed; thaw the freezer cgroup of a pid
thaw_pid() {
  local pid="$1" path
  path="$(awk -F: '$2 == "freezer" { print $3 }' "/proc/$pid/cgroup" 2>/dev/null)"
  if [ -n "$path" ] && [ "$path" != "/" ] && [ -w "/sys/fs/cgroup/freezer$path/freezer.state" ]; then
    echo THAWED > "/sys/fs/cgroup/freezer$path/freezer.state" 2>/dev/null || true
  fi
  # cgroup v2
  path="$(awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup" 2>/dev/null)"
  if [ -n "$path" ] && [ "$path" != "/" ] && [ -w "/sys/fs/cgroup$path/cgroup.freeze" ]; then
    echo 0 > "/sys/fs/cgroup$path/cgroup.freeze" 2>/dev/null || true
  fi
}

check_tools() {
  local missing=()
  command -v containerd >/dev/null 2>&1 || missing+=(containerd)
  command -v ctr >/dev/null 2>&1 || missing+=(ctr)
  command -v runc >/dev/null 2>&1 || missing+=(runc)
  command -v containerd-shim-runc-v2 >/dev/null 2>&1 || missing+=(containerd-shim-runc-v2)
  [ ${#missing[@]} -eq 0 ] || die "missing: ${missing[*]} (install: apt-get install -y containerd runc busybox-static)"
  [ "$(id -u)" = 0 ] || die "the private containerd needs root"
}

find_busybox() {
  local b
  for b in /bin/busybox /usr/bin/busybox "$(command -v busybox 2>/dev/null)"; do
    [ -n "$b" ] && [ -x "$b" ] || continue
    # a dynamically linked busybox would not run inside the root filesystem
    if file_is_static "$b"; then echo "$b"; return 0; fi
  done
  return 1
}

file_is_static() {
  # ELF with no PT_INTERP program header => static. Use readelf/file if present, else trust it.
  if command -v readelf >/dev/null 2>&1; then
    ! readelf -l "$1" 2>/dev/null | grep -q 'Requesting program interpreter'
  elif command -v file >/dev/null 2>&1; then
    file -L "$1" | grep -q 'statically linked'
  else
    return 0
  fi
}

write_config() {
  cat > "$CONFIG.tmp" <<EOF
# private containerd for PSContainerd tests (written by tests/Fixtures/testenv.sh)
version = 2
root = "$DIR/root"
state = "$DIR/state"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "$SOCK"

[ttrpc]
  address = "$SOCK.ttrpc"

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$DIR/opt"

# containerd's restart monitor (containers with containerd.io/restart.* labels): on by default,
# every 10 s; every second here, so tests of the module's hand-over to it need not wait long.
[plugins."io.containerd.internal.v1.restart"]
  interval = "1s"
EOF
  mv -f "$CONFIG.tmp" "$CONFIG"
}

build_rootfs() {
  [ -x "$ROOTFS/bin/busybox" ] && [ -e "$ROOTFS/bin/sh" ] && return 0
  local bb tmp applet
  bb="$(find_busybox)" || die "no static busybox found (install: apt-get install -y busybox-static)"
  tmp="$DIR/rootfs.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"/{bin,sbin,proc,dev,sys,tmp,etc,root,run,var/tmp}
  chmod 1777 "$tmp/tmp" "$tmp/var/tmp"
  chmod 700 "$tmp/root"
  cp "$bb" "$tmp/bin/busybox"
  chmod 755 "$tmp/bin/busybox"
  for applet in $("$bb" --list); do
    case "$applet" in busybox|*/*|"") continue ;; esac
    ln -sf busybox "$tmp/bin/$applet"
  done
  cat > "$tmp/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
  cat > "$tmp/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
  echo "127.0.0.1 localhost" > "$tmp/etc/hosts"
  : > "$tmp/etc/resolv.conf"
  echo "pscd" > "$tmp/etc/hostname"
  rm -rf "$ROOTFS"
  mv "$tmp" "$ROOTFS"
}

start_daemon() {
  if answers; then return 0; fi
  [ -f "$CONFIG" ] || die "$CONFIG missing: run 'testenv.sh start $DIR' first"
  # a daemon that exists but does not answer is stuck: replace it
  if [ -n "$(daemon_pids)" ]; then kill_daemon; fi
  rm -f "$SOCK" "$SOCK.ttrpc"
  mkdir -p "$DIR/root" "$DIR/state"
  echo "---- start $(date -u +%FT%TZ)" >> "$LOGFILE"
  # setsid: own session, so a Ctrl+C in the caller's terminal does not reach it;
  # all stdio redirected, so callers capturing our output do not wait for the daemon.
  setsid containerd --config "$CONFIG" --root "$DIR/root" --state "$DIR/state" --address "$SOCK" \
    </dev/null >>"$LOGFILE" 2>&1 &
  local pid=$!
  echo "$pid" > "$PIDFILE"
  local i tenths=$((START_TIMEOUT * 10))
  for ((i = 0; i < tenths; i++)); do
    if answers; then
      # record the daemon's own pid (setsid may have forked)
      daemon_pids | head -n 1 > "$PIDFILE"
      return 0
    fi
    if ! alive "$pid" && [ -z "$(daemon_pids)" ]; then
      log "containerd exited during startup"
      break
    fi
    sleep 0.1
  done
  log "containerd did not answer on $SOCK within ${START_TIMEOUT}s; last lines of $LOGFILE:"
  tail -n 40 "$LOGFILE" >&2
  kill -9 "$pid" $(daemon_pids) 2>/dev/null
  exit 1
}

kill_daemon() {
  local pids p
  pids="$(daemon_pids)"
  [ -f "$PIDFILE" ] && p="$(cat "$PIDFILE" 2>/dev/null)" && alive "$p" && \
    tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q containerd && pids="$pids $p"
  pids="$(echo $pids | tr ' ' '\n' | sort -u | tr '\n' ' ')"
  [ -n "${pids// /}" ] || { rm -f "$PIDFILE"; return 0; }
  kill -TERM $pids 2>/dev/null
  if ! wait_gone 100 $pids; then
    log "containerd did not exit 10 s after SIGTERM; sending SIGKILL"
    kill -KILL $pids 2>/dev/null
    wait_gone 50 $pids || log "containerd pid(s) $pids still alive after SIGKILL"
  fi
  rm -f "$PIDFILE"
}

# status of a task from `ctr tasks ls` (RUNNING, PAUSED, STOPPED, CREATED, ...)
task_status() {
  CTR -n "$1" tasks ls 2>/dev/null | awk -v id="$2" 'NR > 1 && $1 == id { print $3 }'
}

clean_via_api() {
  local ns id st i pending
  for ns in $(CTR namespaces ls -q 2>/dev/null); do
    local ids
    ids="$(CTR -n "$ns" tasks ls -q 2>/dev/null)"
    for id in $ids; do
      st="$(task_status "$ns" "$id")"
      case "$st" in
        PAUSED|PAUSING) CTR -n "$ns" tasks resume "$id" >/dev/null 2>&1 ;;
      esac
      CTR -n "$ns" tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1
    done
    # bounded wait for them to stop (10 s)
    for ((i = 0; i < 100; i++)); do
      pending=0
      for id in $ids; do
        st="$(task_status "$ns" "$id")"
        case "$st" in STOPPED|"") ;; *) pending=1 ;; esac
      done
      [ $pending -eq 0 ] && break
      sleep 0.1
    done
    for id in $(CTR -n "$ns" tasks ls -q 2>/dev/null); do
      CTR -n "$ns" tasks delete -f "$id" >/dev/null 2>&1 || log "could not delete task $ns/$id"
    done
    for id in $(CTR -n "$ns" containers ls -q 2>/dev/null); do
      CTR -n "$ns" containers delete "$id" >/dev/null 2>&1 || log "could not delete container $ns/$id"
    done
  done
}

# "NS ID" of a shim, from its command line (-namespace NS -id ID)
shim_ns_id() {
  tr '\0' '\n' 2>/dev/null < "/proc/$1/cmdline" | awk '
    prev == "-namespace" { ns = $0 } prev == "-id" { id = $0 } { prev = $0 }
    END { if (ns != "" && id != "") print ns, id }'
}

# after a shim was killed: remove runc's state and cgroups for its container (runc's state root,
# /run/containerd/runc/NS, is shared by every containerd on the host, so only if the bundle is ours)
cleanup_runc_state() {
  local ns="$1" id="$2" root="/run/containerd/runc/$1" sock_hash
  if [ -f "$root/$id/state.json" ] && grep -qF "$DIR/state/" "$root/$id/state.json"; then
    timeout 10 runc --root "$root" delete --force "$id" >/dev/null 2>&1 || log "runc delete $ns/$id failed"
  fi
  sock_hash="$(printf '%s' "$SOCK/$ns/$id" | sha256sum | cut -d' ' -f1)"
  rm -f "/run/containerd/s/$sock_hash" 2>/dev/null
}

kill_leftover_shims() {
  local shims s pids=() d nsids=()
  shims="$(shim_pids)"
  [ -n "$shims" ] || return 0
  for s in $shims; do
    d="$(shim_ns_id "$s")"
    [ -n "$d" ] && nsids+=("$d")
  done
  for s in $shims; do
    for d in $(descendants "$s"); do pids+=("$d"); done
  done
  if [ ${#pids[@]} -gt 0 ]; then
    log "killing leftover container processes: ${pids[*]}"
    for d in "${pids[@]}"; do thaw_pid "$d"; done
    kill -KILL "${pids[@]}" 2>/dev/null
    wait_gone 50 "${pids[@]}"
  fi
  log "killing leftover shims: $shims"
  kill -KILL $shims 2>/dev/null
  wait_gone 50 $shims || log "shim pid(s) still alive: $shims"
  for d in "${nsids[@]}"; do
    cleanup_runc_state $d
  done
}

unmount_under_dir() {
  local m
  # deepest first
  for m in $(awk -v d="$DIR/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
}

# --- commands -------------------------------------------------------------------------------
cmd_start() {
  check_tools
  if answers; then echo "$SOCK"; return 0; fi
  mkdir -p "$DIR"
  touch "$MARKER"
  [ -f "$CONFIG" ] || write_config
  build_rootfs
  start_daemon
  echo "$SOCK"
}

cmd_stop() {
  if [ ! -d "$DIR" ]; then
    # nothing of ours there; still kill any shim that names DIR's socket
    kill_leftover_shims
    return 0
  fi
  if ! answers && [ -f "$CONFIG" ] && [ -n "$(shim_pids)" ]; then
    # containerd is down but shims live (e.g. a test stopped the daemon): bring it back to clean up
    START_TIMEOUT=10 start_daemon_quiet || true
  fi
  if answers; then clean_via_api; fi
  kill_daemon
  kill_leftover_shims
  unmount_under_dir
  # the default logs New-Container kept for this socket (docs/New-Container.md, -NoLog)
  rm -rf /var/log/pscontainerd/*@"$(printf '%s' "${SOCK#/}" | tr '/' '_')" 2>/dev/null
  if [ "${KEEP:-0}" != 1 ]; then
    if [ -e "$MARKER" ] || [ -f "$CONFIG" ]; then
      rm -rf --one-file-system "$DIR" 2>/dev/null || { unmount_under_dir; rm -rf --one-file-system "$DIR"; }
    else
      log "$DIR was not made by testenv.sh; not removing it"
    fi
  fi
  # exit non-zero if anything of ours survived
  local left
  left="$(shim_pids) $(daemon_pids)"
  if [ -n "${left// /}" ]; then
    log "processes left behind: $left"
    return 1
  fi
  return 0
}

# start_daemon exits the script on failure; run it in a subshell for best-effort use
start_daemon_quiet() { ( start_daemon ) 2>/dev/null; }

case "$CMD" in
  start)        cmd_start ;;
  stop)         cmd_stop ;;
  restart)      check_tools; kill_daemon; start_daemon ;;
  kill-daemon)  kill_daemon ;;
  start-daemon) check_tools; start_daemon ;;
  status)       answers ;;
  image)
    [ $# -ge 3 ] || usage
    images="$DIR/images.tar"
    [ -f "$images" ] || bash "$(dirname "${BASH_SOURCE[0]}")/testimage.sh" build "$ROOTFS" "$images" || die "could not build $images"
    bash "$(dirname "${BASH_SOURCE[0]}")/testimage.sh" import "$SOCK" "$3" "$images" "${4:-overlayfs}" || die "could not import $images into namespace $3"
    ;;
  env)
    echo "CONTAINERD_ADDRESS=$SOCK"
    echo "PSCD_TEST_DIR=$DIR"
    echo "PSCD_TEST_ROOTFS=$ROOTFS"
    ;;
  -h|--help|help) usage ;;
  *) usage ;;
esac
