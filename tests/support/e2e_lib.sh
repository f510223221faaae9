# Shared by the end-to-end shell tests: a temp folder and child processes cleaned up on exit,
# check helpers, free ports, readiness waits. Source it, call `e2e_start NAME`, `summary` last.
fails=0
passes=0
check() {  # name expected actual
  if [[ "$2" == "$3" ]]; then passes=$((passes + 1)); echo "ok   $1";
  else fails=$((fails + 1)); echo "FAIL $1: expected [$2], got [$3]"; fi
}
contains() {  # name needle haystack
  if [[ "$3" == *"$2"* ]]; then passes=$((passes + 1)); echo "ok   $1";
  else fails=$((fails + 1)); echo "FAIL $1: [$2] not in [$3]"; fi
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {  # URL [tries of 0.1 s]: until it answers 2xx
  for _ in $(seq "${2:-150}"); do curl -sf -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
summary() {  # name
  echo "$1: $passes passed, $fails failed"
  [[ $fails -eq 0 ]]
}

# W: a fresh temp folder; PIDS: children killed on exit; a test may define e2e_cleanup_hook.
e2e_start() {  # name
  W=$(mktemp -d "/tmp/gp-$1.XXXXXX")
  PIDS=()
  trap e2e_cleanup EXIT
}
e2e_cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  if declare -F e2e_cleanup_hook >/dev/null; then e2e_cleanup_hook; fi
  rm -rf "$W"
}
