#!/usr/bin/env bash
# Token endpoint benchmark (issue 3 §9): POST /oauth2/token (client_credentials, client_secret_basic)
# under wrk, beside the raw signing floor of the key's algorithm measured in the same run.
#   serve: `taskset -c 0`, --threads 1 (one core)      wrk: `taskset -c 1`, 2 threads
#   floor: `taskset -c 0 openssl speed -seconds 5 <alg>` sign/s, one core, serve idle meanwhile
# Prints requests/s, p50, p99 and ratio = req/s ÷ floor sign/s.
# Usage: bench/token_endpoint.sh [GATEPASS_BIN (a Release build)] [SECONDS]
#   env: CONNS (default 32), ALG (default RS256), RSA_BITS (default 2048)
set -euo pipefail
BIN=${1:-build-release/gatepass}
BIN=$(readlink -f "$BIN")
SECS=${2:-10}
CONNS=${CONNS:-32}
ALG=${ALG:-RS256}
RSA_BITS=${RSA_BITS:-2048}
[[ -x $BIN ]] || { echo "token_endpoint: $BIN is not executable" >&2; exit 2; }
for tool in wrk taskset openssl curl; do
  command -v $tool >/dev/null || { echo "token_endpoint: $tool not found" >&2; exit 2; }
done

W=$(mktemp -d /tmp/gp-token-bench.XXXXXX)
SERVE_PID=""
cleanup() {
  if [[ -n $SERVE_PID ]]; then kill -TERM "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; fi
  rm -rf "$W"
}
trap cleanup EXIT

export GATEPASS_PASSPHRASE="token endpoint bench"
unset GATEPASS_CONFIG
"$BIN" init --dir "$W" --issuer https://auth.bench.test --audience bench-api >/dev/null
sed -i -e 's|^  listen: .*|  listen: 127.0.0.1:0|' -e "s|^  algorithm: .*|  algorithm: $ALG|" \
       -e "s|^  rsa_bits: .*|  rsa_bits: $RSA_BITS|" "$W/gatepass.yaml"
# the key of the configured algorithm signs (init made one with the default before the edit)
"$BIN" --config "$W/gatepass.yaml" keys rotate --now >/dev/null
SECRET=$("$BIN" --config "$W/gatepass.yaml" client add --id bench-client --scopes "USER ADMIN" |
         sed -n 's/^client_secret: *//p')
BASIC=$(printf '%s' "bench-client:$SECRET" | base64 -w0)

taskset -c 0 "$BIN" --config "$W/gatepass.yaml" serve --threads 1 >"$W/serve.out" 2>"$W/serve.err" &
SERVE_PID=$!
PORT=""
for _ in $(seq 100); do
  PORT=$(sed -n 's/.* listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$W/serve.out")
  [[ -n $PORT ]] && break
  sleep 0.1
done
[[ -n $PORT ]] || { echo "token_endpoint: serve did not start" >&2; cat "$W/serve.err" >&2; exit 1; }
URL="http://127.0.0.1:$PORT/oauth2/token"

# one request by hand: 200 and a token of the expected algorithm (also pays the one argon2id
# verification; later requests hit the verified-secret cache, as a busy client would)
resp=$(curl -s -w '\n%{http_code}' -H "Authorization: Basic $BASIC" -d grant_type=client_credentials "$URL")
[[ ${resp##*$'\n'} == 200 ]] || { echo "token_endpoint: warm-up request failed: $resp" >&2; exit 1; }
hdr=$(sed -n 's/.*"access_token":"\([^.]*\)\..*/\1/p' <<<"$resp" | tr '_-' '/+')
while (( ${#hdr} % 4 )); do hdr+="="; done
tok_alg=$(base64 -d <<<"$hdr" 2>/dev/null | sed -n 's/.*"alg":"\([^"]*\)".*/\1/p')
[[ $tok_alg == "$ALG" ]] || { echo "token_endpoint: token signed with $tok_alg, expected $ALG" >&2; exit 1; }

# raw signing floor for the key's algorithm, one core (core 0, where serve runs; serve is idle)
case $ALG in
  RS*|PS*) SPEED=rsa$RSA_BITS ;;
  ES256) SPEED=ecdsap256 ;;
  ES384) SPEED=ecdsap384 ;;
  EdDSA) SPEED=ed25519 ;;
  *) echo "token_endpoint: no openssl speed test for $ALG" >&2; exit 2 ;;
esac
# the sign/s column, found by name in the header line (its position differs between versions)
sign_per_s() {
  local speed
  speed=$(taskset -c 0 openssl speed "$@" -seconds ${SPEED_SECS:-5} $SPEED 2>/dev/null)
  awk '/sign\/s/ { n = NF; for (i = 1; i <= NF; i++) if ($i == "sign/s") col = i; next }
       col && NF >= n { print $(NF - n + col); exit }' <<<"$speed"
}
# openssl speed divides by CPU user time; -elapsed by wall-clock time, as wrk does (the two agree
# on an idle machine; on a busy one the second is the fair comparison)
FLOOR=$(sign_per_s)
FLOOR_WALL=$(sign_per_s -elapsed)
[[ -n $FLOOR && -n $FLOOR_WALL ]] || { echo "token_endpoint: cannot parse openssl speed output" >&2; exit 1; }
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

cat > "$W/post.lua" <<LUA
wrk.method = "POST"
wrk.body = "grant_type=client_credentials&scope=USER"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $BASIC"
LUA
out=$(taskset -c 1 wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s "$W/post.lua" "$URL" 2>&1)
RPS=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
P50=$(awk '$1=="50%" {print $2}' <<<"$out")
P99=$(awk '$1=="99%" {print $2}' <<<"$out")
NON2XX=$(awk '/Non-2xx/ {print $5}' <<<"$out")
ERRS=$(awk '/Socket errors/' <<<"$out")

echo "== token endpoint benchmark: POST /oauth2/token (client_secret_basic), $ALG$([[ $ALG == RS* || $ALG == PS* ]] && echo " $RSA_BITS-bit")"
echo "   serve on core 0 (--threads 1), wrk -t2 -c$CONNS -d${SECS}s on core 1; $(nproc) cores, $(openssl version | cut -d' ' -f1-2)"
printf 'requests/s          %s\n' "$RPS"
printf 'latency p50         %s\n' "$P50"
printf 'latency p99         %s\n' "$P99"
[[ -n $NON2XX ]] && printf 'non-2xx responses   %s\n' "$NON2XX"
[[ -n $ERRS ]] && printf '%s\n' "$ERRS"
printf 'signing floor       %s sign/s (openssl speed -seconds %s %s, core 0)\n' "$FLOOR" "${SPEED_SECS:-5}" "$SPEED"
printf 'signing floor wall  %s sign/s (same, -elapsed: wall-clock)\n' "$FLOOR_WALL"
awk -v r="$RPS" -v f="$FLOOR" -v w="$FLOOR_WALL" 'BEGIN {
  printf "ratio               %.3f  (req/s ÷ floor sign/s)\n", r / f
  printf "ratio (wall floor)  %.3f\n", r / w }'
printf 'load average        %s (before wrk)\n' "$LOAD_BEFORE"
[[ -z $NON2XX ]] || exit 1
