# Process helpers shared by the fixtures (sourced by testenv.sh and fleetenv.sh).

# all descendants of a pid, each listed after its parent. One pass over /proc/*/stat (the
# comm field may hold spaces and parentheses: the ppid is the 2nd field after the last ") "),
# through cat, which skips processes that exit meanwhile.
descendants() {
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
    { pid = $1; rest = $0; sub(/^.*\) /, "", rest); split(rest, f, " "); kids[f[2]] = kids[f[2]] " " pid }
    END {
      n = split(kids[root], q, " ")
      for (i = 1; i <= n; i++) {
        print q[i]
        m = split(kids[q[i]], more, " ")
        for (j = 1; j <= m; j++) q[++n] = more[j]
      }
    }'
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
