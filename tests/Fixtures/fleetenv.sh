#!/usr/bin/env bash
# PSContainerd fleet fixture: N simulated hosts on this machine, each with its own private
# containerd (testenv.sh in DIR/hI) and its own OpenSSH server on its own loopback address
# (127.0.0.2, 127.0.0.3, ...) whose `powershell` subsystem lands a remote pwsh on that host's
# containerd (sshd's SetEnv CONTAINERD_ADDRESS) with the module installed in that host's module
# folder (DIR/hI/modules, on PSModulePath through SetEnv).
#
# Usage: fleetenv.sh <command> DIR [ARG]
#   start DIR N MODULE   start N hosts; MODULE is a module folder (build.ps1 saves the gallery package for it; out/PSContainerd works too), copied
#                        into every host's module folder. Key pairs (the client's, each host's) are
#                        generated under DIR. Prints the env lines (as `env`).
#   stop DIR             stop every sshd (and its sessions) and containerd of DIR, remove DIR
#                        (unless KEEP=1). Kills only processes recorded in DIR's pid files.
#   stop-sshd DIR I      stop host I's sshd and its sessions (the host becomes unreachable)
#   start-sshd DIR I     start host I's sshd again and wait until it accepts connections
#   env DIR              print PSCD_FLEET_* lines: HOSTS (comma list), PORT, USER, KEY, KNOWN_HOSTS,
#                        SOCKETS (comma list, same order), ROOTFS (comma list), DIR
#
# Environment: PSCD_PWSH_DLL and PSCD_DOTNET (pwsh.dll of PowerShell and the dotnet host that runs
# it; found through `dotnet pwsh` from the repository when unset), KEEP=1.
# Needs root, sshd and ssh-keygen (Debian: openssh-server), and what testenv.sh needs.
set -uo pipefail

die() { echo "fleetenv: $*" >&2; exit 1; }
log() { echo "fleetenv: $*" >&2; }

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TESTENV="$HERE/testenv.sh"
REPO="$(cd "$HERE/../.." && pwd)"
SSHD=/usr/sbin/sshd

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

[ $# -ge 2 ] || usage
CMD="$1"
DIR="$(printf '%s' "$2" | sed 's:/*$::')"
case "$DIR" in
  /*) ;;
  *) DIR="$(pwd)/$DIR" ;;
esac
case "$DIR" in
  ""|/|/tmp|/root|/home|/etc|/usr|/var|/run) die "refusing to use '$2' as the fleet folder" ;;
esac
MARKER="$DIR/.pscd-fleetenv"

host_dir() { echo "$DIR/h$1"; }
host_addr() { echo "127.0.0.$(($1 + 1))"; }
host_count() { cat "$DIR/hosts" 2>/dev/null || echo 0; }
port() { cat "$DIR/port"; }

# descendants, alive, wait_gone
. "$HERE/processes.sh"

# a pid from host I's sshd pid file, only if that process is the sshd started with host I's config
sshd_pid() {
  local d p
  d="$(host_dir "$1")"
  p="$(cat "$d/sshd.pid" 2>/dev/null)" || return 1
  alive "$p" || return 1
  tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -qF -- "-f $d/sshd_config" || return 1
  echo "$p"
}

accepts() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# a port free on every host address (sshd binds 127.0.0.I:PORT)
pick_port() {
  local n="$1" p i tries busy
  for ((tries = 0; tries < 50; tries++)); do
    p=$((20000 + (RANDOM % 20000)))
    busy=0
    for ((i = 1; i <= n; i++)); do
      ss -Hltn "sport = :$p" 2>/dev/null | grep -q . && busy=1
    done
    [ $busy -eq 0 ] && { echo "$p"; return 0; }
  done
  return 1
}

# the pwsh the sessions run: sshd needs an absolute path to an executable, so a wrapper that
# runs the repository's PowerShell (a dotnet local tool) with the dotnet host that runs it
write_pwsh_wrapper() {
  local dotnet="${PSCD_DOTNET:-}" dll="${PSCD_PWSH_DLL:-}" found
  if [ -z "$dotnet" ] || [ -z "$dll" ]; then
    found="$(cd "$REPO" && timeout 120 dotnet pwsh -NoProfile -NonInteractive -Command \
      '(Get-Process -Id $PID).Path; Join-Path $PSHOME pwsh.dll')" || die "could not run 'dotnet pwsh' in $REPO"
    dotnet="$(echo "$found" | sed -n 1p)"
    dll="$(echo "$found" | sed -n 2p)"
  fi
  [ -x "$dotnet" ] && [ -f "$dll" ] || die "no PowerShell at '$dotnet' '$dll'"
  cat > "$DIR/pwsh" <<EOF
#!/bin/sh
# PowerShell for the fleet's ssh sessions (written by tests/Fixtures/fleetenv.sh)
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 POWERSHELL_TELEMETRY_OPTOUT=1 POWERSHELL_UPDATECHECK=Off
exec "$dotnet" "$dll" "\$@"
EOF
  chmod 755 "$DIR/pwsh"
}

write_sshd_config() {
  local i="$1" d sock
  d="$(host_dir "$i")"
  sock="$d/containerd.sock"
  cat > "$d/sshd_config" <<EOF
# simulated host $i of a PSContainerd test fleet (written by tests/Fixtures/fleetenv.sh)
ListenAddress $(host_addr "$i"):$(port)
HostKey $d/ssh_host_ed25519_key
PidFile $d/sshd.pid
AuthorizedKeysFile $DIR/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
# the key files live under a temp folder whose parent (/tmp) is world-writable
StrictModes no
AllowUsers root
X11Forwarding no
AllowTcpForwarding no
PrintMotd no
SetEnv CONTAINERD_ADDRESS=$sock PSModulePath=$d/modules PSCD_FLEET_HOST=h$i
Subsystem powershell $DIR/pwsh -sshs -NoLogo -NoProfile
EOF
}

# sshd's privilege-separation folder (made by the package's service on a booted system)
privsep_dir() { [ -d /run/sshd ] || { mkdir -p /run/sshd && chmod 755 /run/sshd; }; }

start_sshd() {
  local i="$1" d addr p k
  d="$(host_dir "$i")"
  addr="$(host_addr "$i")"
  sshd_pid "$i" >/dev/null && return 0
  privsep_dir
  rm -f "$d/sshd.pid"
  "$SSHD" -f "$d/sshd_config" -E "$d/sshd.log" || die "sshd for host $i did not start; see $d/sshd.log"
  for ((k = 0; k < 100; k++)); do
    if [ -s "$d/sshd.pid" ] && accepts "$addr" "$(port)"; then return 0; fi
    sleep 0.1
  done
  tail -n 20 "$d/sshd.log" >&2
  die "sshd for host $i does not accept connections on $addr:$(port)"
}

stop_sshd() {
  local i="$1" p kids
  p="$(sshd_pid "$i")" || { rm -f "$(host_dir "$i")/sshd.pid"; return 0; }
  # its sessions (per-connection sshd children and the pwsh they run) first, then the listener
  kids="$(descendants "$p")"
  [ -n "$kids" ] && kill -TERM $kids 2>/dev/null
  kill -TERM "$p" 2>/dev/null
  wait_gone 50 "$p" $kids || { kill -KILL "$p" $kids 2>/dev/null; wait_gone 20 "$p" $kids; }
  rm -f "$(host_dir "$i")/sshd.pid"
}

print_env() {
  local n i hosts="" socks="" roots=""
  n="$(host_count)"
  for ((i = 1; i <= n; i++)); do
    hosts="$hosts${hosts:+,}$(host_addr "$i")"
    socks="$socks${socks:+,}$(host_dir "$i")/containerd.sock"
    roots="$roots${roots:+,}$(host_dir "$i")/rootfs"
  done
  echo "PSCD_FLEET_DIR=$DIR"
  echo "PSCD_FLEET_HOSTS=$hosts"
  echo "PSCD_FLEET_PORT=$(port)"
  echo "PSCD_FLEET_USER=root"
  echo "PSCD_FLEET_KEY=$DIR/client_key"
  echo "PSCD_FLEET_KNOWN_HOSTS=$DIR/known_hosts"
  echo "PSCD_FLEET_SOCKETS=$socks"
  echo "PSCD_FLEET_ROOTFS=$roots"
}

cmd_start() {
  local n="$1" module="$2" i d
  [ "$(id -u)" = 0 ] || die "the fleet needs root"
  [ -x "$SSHD" ] && command -v ssh-keygen >/dev/null || die "missing sshd/ssh-keygen (apt-get install -y openssh-server)"
  [ -f "$module/PSContainerd.psd1" ] || die "no built module at $module (build.ps1 -Task Build)"
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 50 ] || die "N must be 1..50"
  mkdir -p "$DIR" && touch "$MARKER" || die "cannot create $DIR"
  echo "$n" > "$DIR/hosts"
  pick_port "$n" > "$DIR/port" || die "no free port"
  ssh-keygen -q -t ed25519 -N '' -C pscd-fleet-client -f "$DIR/client_key" || die "ssh-keygen failed"
  cp "$DIR/client_key.pub" "$DIR/authorized_keys"
  write_pwsh_wrapper
  : > "$DIR/known_hosts"
  # the hosts' containerds start side by side
  local pids=()
  for ((i = 1; i <= n; i++)); do
    bash "$TESTENV" start "$(host_dir "$i")" >/dev/null &
    pids+=($!)
  done
  for ((i = 1; i <= n; i++)); do
    wait "${pids[$((i - 1))]}" || die "containerd for host $i did not start"
  done
  for ((i = 1; i <= n; i++)); do
    d="$(host_dir "$i")"
    mkdir -p "$d/modules"
    cp -a "$module" "$d/modules/PSContainerd"
    ssh-keygen -q -t ed25519 -N '' -C "pscd-fleet-h$i" -f "$d/ssh_host_ed25519_key" || die "ssh-keygen failed"
    echo "[$(host_addr "$i")]:$(port) $(cut -d' ' -f1,2 "$d/ssh_host_ed25519_key.pub")" >> "$DIR/known_hosts"
    write_sshd_config "$i"
    privsep_dir
    "$SSHD" -t -f "$d/sshd_config" || die "sshd rejects $d/sshd_config"
    start_sshd "$i"
  done
  print_env
}

cmd_stop() {
  local n i p rc=0
  [ -d "$DIR" ] || return 0
  n="$(host_count)"
  for ((i = 1; i <= n; i++)); do stop_sshd "$i"; done
  local pids=()
  for ((i = 1; i <= n; i++)); do
    KEEP=1 bash "$TESTENV" stop "$(host_dir "$i")" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  for ((i = 1; i <= n; i++)); do
    if sshd_pid "$i" >/dev/null; then log "sshd of host $i survived"; rc=1; fi
  done
  if [ "${KEEP:-0}" != 1 ]; then
    if [ -e "$MARKER" ]; then rm -rf --one-file-system "$DIR"; else log "$DIR was not made by fleetenv.sh; not removing it"; fi
  fi
  return $rc
}

case "$CMD" in
  start)      [ $# -ge 4 ] || usage; cmd_start "$3" "$4" ;;
  stop)       cmd_stop ;;
  stop-sshd)  [ $# -ge 3 ] || usage; stop_sshd "$3" ;;
  start-sshd) [ $# -ge 3 ] || usage; start_sshd "$3" ;;
  env)        print_env ;;
  *)          usage ;;
esac
