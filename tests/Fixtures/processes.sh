# Process helpers shared by the fixtures (sourced by testenv.sh and fleetenv.sh).

# all descendants of a pid (children first listed after their parent)
descendants() {
  local parent="$1" p ppid
  for p in /proc/[0-9]*; do
    ppid="$(awk '{ sub(/^.*\) /, ""); print $2 }' 2>/dev/null < "$p/stat")" || continue
    if [ "$ppid" = "$parent" ]; then
      echo "${p#/proc/}"
      descendants "${p#/proc/}"
    fi
  done
}

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

# wait until none of the given pids is alive; $1 = timeout in tenths of a second
wait_gone() {
  local tenths="$1"; shift
  local i p any
  for ((i = 0; i < tenths; i++)); do
    any=0
    for p in "$@"; do alive "$p" && any=1; done
    [ $any -eq 0 ] && return 0
    sleep 0.1
  done
  return 1
}
