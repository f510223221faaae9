# Shared by the end-to-end shell tests: check helpers, free ports, readiness waits.
# Source it after setting W (the test's temp folder); call `summary` last.
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
