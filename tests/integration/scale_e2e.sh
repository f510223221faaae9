#!/usr/bin/env bash
# Scale-out end to end on a real PostgreSQL 15 started by the test itself (tests/support/pg_cluster.sh):
#  1. keys migrate file → PostgreSQL → file: nothing lost, idempotent, conflicting rings refused;
#  2. a rotation race: 4 processes × 50 forced rotations keep exactly one current key;
#  3. kill -9 during rotations keeps the invariants;
#  4. two issuers and two gateways on one store: tokens from either issuer pass both gateways, and
#     under steady load across a scheduled and a forced rotation no request fails; both issuers
#     learn of each rotation within 2 s;
#  5. the database stopped mid-test: issuers keep serving JWKS and tokens, gateways keep passing,
#     a rotation fails with a clear error; restarted: rotation works and issuers pick it up;
#  6. `publish` output served by nginx with examples/nginx-published.conf.
# Usage: scale_e2e.sh GATEPASS_BIN
set -uo pipefail
BIN=$(readlink -f "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PGC="$ROOT/tests/support/pg_cluster.sh"
source "$ROOT/tests/support/e2e_lib.sh"
e2e_start scale
chmod 755 "$W"  # the postgres user reaches its data folder inside
e2e_cleanup_hook() { "$PGC" destroy "$W/pg" >/dev/null 2>&1; }
now_ms() { date +%s%3N; }
export GATEPASS_PASSPHRASE=scale-e2e-passphrase
cd "$W"

PG=$("$PGC" start "$W/pg") || { echo "FAIL: cannot start PostgreSQL: scale tests NOT run"; exit 1; }
PG_RACE=${PG%/gatepass}/race
runuser_psql() {  # SQL: on database postgres
  local port=${PG##*:}; port=${port%%/*}
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- psql -h 127.0.0.1 -p "$port" -U postgres -Atqc "$1" postgres
  else psql -h 127.0.0.1 -p "$port" -U postgres -Atqc "$1" postgres; fi
}
runuser_psql "CREATE DATABASE race" >/dev/null
runuser_psql "CREATE DATABASE issuers" >/dev/null
PG_ISSUERS=${PG%/gatepass}/issuers
echo "PostgreSQL at $PG"

# ---------------------------------------------------------------- 1. migrate
IA=$(free_port); IB=$(free_port); G1=$(free_port); G2=$(free_port); UP=$(free_port)
mkdir -p "$W/file"
"$BIN" init --dir "$W/file" --issuer "http://127.0.0.1:$IA" --audience my-audience >/dev/null 2>&1 || { echo "init failed"; exit 1; }
F="$W/file/gatepass.yaml"
"$BIN" --config "$F" keys rotate >/dev/null || { echo "rotate failed"; exit 1; }
SECRET=$("$BIN" --config "$F" client add --id svc --scopes "USER ADMIN" | awk '/client_secret/ {print $2}')
sed "s#store: file:keys#store: \"$PG\"#" "$F" > "$W/pg.yaml"
sed "s#store: file:keys#store: file:$W/back#" "$F" > "$W/back.yaml"
out=$("$BIN" --config "$F" keys migrate --from "file:$W/file/keys" --to "$PG" 2>&1)
contains "migrate file → PostgreSQL copies both keys" "2 key(s) copied" "$out"
contains "migrate file → PostgreSQL copies the client" "1 client(s) copied" "$out"
out=$("$BIN" --config "$F" keys migrate --from "file:$W/file/keys" --to "$PG" 2>&1)
contains "migrate again: idempotent" "0 key(s) copied, 0 updated, 2 already there; 0 client(s) copied" "$out"
check "keys list: PostgreSQL equals the file store" "$("$BIN" --config "$F" keys list)" "$("$BIN" --config "$W/pg.yaml" keys list)"
check "client list: PostgreSQL equals the file store" "$("$BIN" --config "$F" client list)" "$("$BIN" --config "$W/pg.yaml" client list)"
"$BIN" --config "$W/pg.yaml" publish --out "$W/pub-pg" >/dev/null
"$BIN" --config "$F" publish --out "$W/pub-file" >/dev/null
check "published JWKS byte-identical (same keys, certificates)" "$(cat "$W/pub-file/.well-known/jwks.json")" "$(cat "$W/pub-pg/.well-known/jwks.json")"
out=$("$BIN" --config "$F" keys migrate --from "$PG" --to "file:$W/back" 2>&1)
contains "migrate PostgreSQL → file" "2 key(s) copied" "$out"
check "keys list: round trip equal" "$("$BIN" --config "$F" keys list)" "$("$BIN" --config "$W/back.yaml" keys list)"
T=$("$BIN" --config "$W/back.yaml" token issue --sub roundtrip 2>/dev/null)
check "a token signed from the round-tripped store verifies against the original JWKS" 0 \
  "$("$BIN" token verify "$T" --jwks "$W/pub-file/.well-known/jwks.json" >/dev/null 2>&1; echo $?)"
"$BIN" --config "$W/back.yaml" keys generate >/dev/null 2>&1
out=$("$BIN" --config "$F" keys migrate --from "file:$W/back" --to "$PG" 2>&1)
contains "migrate onto a store holding a subset of the keys completes it" "1 key(s) copied" "$out"
"$BIN" --config "$W/pg.yaml" keys generate >/dev/null 2>&1
out=$("$BIN" --config "$F" keys migrate --from "file:$W/back" --to "$PG" 2>&1); rc=$?
check "merging two different rings is refused" 2 "$rc"
contains "... with a clear reason" "refusing to merge two key rings" "$out"

# ---------------------------------------------------------------- 2. rotation race
cat > "$W/race.yaml" <<YAML
issuer: { url: "http://127.0.0.1:$IA", audience: [my-audience] }
keys: { store: "$PG_RACE", algorithm: ES256, passphrase_env: GATEPASS_PASSPHRASE }
YAML
"$BIN" --config "$W/race.yaml" keys generate >/dev/null 2>&1
t0=$(now_ms)
for p in 1 2 3 4; do
  ( ok=0; for _ in $(seq 50); do "$BIN" --config "$W/race.yaml" keys rotate --now >/dev/null 2>>"$W/race.err" && ok=$((ok + 1)); done
    echo "$ok" > "$W/race.$p" ) &
done
wait
t1=$(now_ms)
ok=$(( $(cat "$W/race.1") + $(cat "$W/race.2") + $(cat "$W/race.3") + $(cat "$W/race.4") ))
list=$("$BIN" --config "$W/race.yaml" keys list)
check "race: all 200 concurrent rotations succeeded" 200 "$ok"
check "race: exactly one current key" 1 "$(grep -c ' current ' <<<"$list")"
check "race: 201 keys, none lost" 201 "$(tail -n +2 <<<"$list" | wc -l)"
check "race: every kid distinct" 201 "$(tail -n +2 <<<"$list" | awk '{print $1}' | sort -u | wc -l)"
echo "race: 4 processes x 50 forced rotations in $(( t1 - t0 )) ms ($(( 200000 / (t1 - t0 + 1) )) rotations/s)"

# ---------------------------------------------------------------- 3. kill -9 during rotation
killed=0
for i in $(seq 40); do
  "$BIN" --config "$W/race.yaml" keys rotate --now > "$W/kill.out" 2>&1 &
  pid=$!
  sleep "0.0$(( RANDOM % 10 ))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  grep -q "is now current" "$W/kill.out" || killed=$((killed + 1))
done
list=$("$BIN" --config "$W/race.yaml" keys list); rc=$?
check "kill -9: the store still opens (every key decrypts)" 0 "$rc"
check "kill -9: exactly one current key" 1 "$(grep -c ' current ' <<<"$list")"
n=$(tail -n +2 <<<"$list" | wc -l)
# a process killed after its COMMIT but before printing counts as killed yet added its key
[[ $n -ge $(( 201 + 40 - killed )) && $n -le 241 ]] && r=consistent || r="$n keys"
check "kill -9: every key is a whole rotation (count $(( 201 + 40 - killed ))..241)" consistent "$r"
echo "kill -9: $killed of 40 rotations killed before they finished"
check "kill -9: a rotation after the kills works" 0 "$("$BIN" --config "$W/race.yaml" keys rotate --now >/dev/null 2>&1; echo $?)"

# ---------------------------------------------------------------- 4. two issuers, two gateways
issuer_cfg() {  # listen port
  cat <<YAML
issuer: { url: "http://127.0.0.1:$IA", audience: [my-audience], listen: "127.0.0.1:$1", token_ttl: 1h }
keys: { store: "$PG_ISSUERS", algorithm: RS256, passphrase_env: GATEPASS_PASSPHRASE, publish_ahead: 60s, rotate_every: 1d }
YAML
}
gateway_cfg() {  # listen port
  cat <<YAML
gateway:
  listen: 127.0.0.1:$1
  threads: 1
  access_log: false
  authorizers:
    jwtAuthorizer: { issuer_url: "http://127.0.0.1:$IA", audience: [my-audience], refetch_cooldown: 1s }
  routes:
    - { method: GET, path: "/myfunction/protected/user/{proxy+}", authorizer: jwtAuthorizer, scopes: [USER], upstream: "http://127.0.0.1:$UP" }
YAML
}
issuer_cfg "$IA" > "$W/issuer-a.yaml"; issuer_cfg "$IB" > "$W/issuer-b.yaml"
SECRET=$("$BIN" --config "$W/issuer-a.yaml" client add --id svc --scopes "USER ADMIN" | awk '/client_secret/ {print $2}')
gateway_cfg "$G1" > "$W/gw1.yaml"; gateway_cfg "$G2" > "$W/gw2.yaml"
python3 "$ROOT/examples/echo_upstream.py" "$UP" >/dev/null 2>&1 & PIDS+=($!)
"$BIN" --config "$W/issuer-a.yaml" serve > "$W/issuer-a.log" 2>&1 & PIDS+=($!)
"$BIN" --config "$W/issuer-b.yaml" serve > "$W/issuer-b.log" 2>&1 & PIDS+=($!)
wait_http "http://127.0.0.1:$IA/healthz" && wait_http "http://127.0.0.1:$IB/healthz" || { echo "issuers did not start"; cat "$W"/issuer-*.log; exit 1; }
"$BIN" --config "$W/gw1.yaml" serve > "$W/gw1.log" 2>&1 & PIDS+=($!)
"$BIN" --config "$W/gw2.yaml" serve > "$W/gw2.log" 2>&1 & PIDS+=($!)
wait_http "http://127.0.0.1:$G1/readyz" && wait_http "http://127.0.0.1:$G2/readyz" || { echo "gateways not ready"; cat "$W"/gw*.log; exit 1; }
wait_http "http://127.0.0.1:$UP/"
check "both issuers publish the same JWKS" "$(curl -s "http://127.0.0.1:$IA/.well-known/jwks.json")" "$(curl -s "http://127.0.0.1:$IB/.well-known/jwks.json")"
token_from() {  # issuer port
  curl -s -u "svc:$SECRET" -d grant_type=client_credentials -d scope=USER "http://127.0.0.1:$1/oauth2/token" |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("access_token",""))'
}
kid_of() { python3 -c 'import base64,json,sys; h=sys.argv[1].split(".")[0]; print(json.loads(base64.urlsafe_b64decode(h+"="*(-len(h)%4)))["kid"])' "$1"; }
TA=$(token_from "$IA"); TB=$(token_from "$IB")
for g in "$G1" "$G2"; do
  check "issuer A's token passes gateway :$g" 200 "$(code -H "Authorization: Bearer $TA" "http://127.0.0.1:$g/myfunction/protected/user/x")"
  check "issuer B's token passes gateway :$g" 200 "$(code -H "Authorization: Bearer $TB" "http://127.0.0.1:$g/myfunction/protected/user/x")"
done

# Both issuers must see a rotation within 2 s: time until each JWKS lists the kid (ms).
seen_in_jwks() {  # kid since_ms → ms from since_ms until both issuers publish it, or 9999
  local start=$2
  for _ in $(seq 100); do
    if curl -s "http://127.0.0.1:$IA/.well-known/jwks.json" | grep -q "\"$1\"" &&
       curl -s "http://127.0.0.1:$IB/.well-known/jwks.json" | grep -q "\"$1\""; then
      echo $(( $(now_ms) - start )); return; fi
    sleep 0.02
  done
  echo 9999
}
signing_with() {  # kid since_ms → ms from since_ms (the rotation's commit) until both issuers sign
  # with it, or 9999; one probe process, so the figure is the issuers' delay, not tool start-up
  python3 - "$1" "$IA" "$IB" "$SECRET" "$2" <<'PY'
import base64, json, sys, time, urllib.request
kid, ports, secret, since = sys.argv[1], sys.argv[2:4], sys.argv[4], int(sys.argv[5]) / 1000
auth = "Basic " + base64.b64encode(f"svc:{secret}".encode()).decode()
def kid_from(port):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/oauth2/token",
                                 data=b"grant_type=client_credentials&scope=USER", headers={"Authorization": auth})
    tok = json.load(urllib.request.urlopen(req, timeout=5))["access_token"]
    h = tok.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))["kid"]
start = time.monotonic()
try:
    while time.monotonic() - start < 10:
        if all(kid_from(p) == kid for p in ports):
            print(int((time.time() - since) * 1000)); sys.exit()
        time.sleep(0.01)
except Exception as e:  # a failed token request is a failed check, never an empty (passing) figure
    print("token request failed:", e, file=sys.stderr)
print(9999)
PY
}
within_2s() { [[ $1 =~ ^[0-9]+$ && $1 -le 2000 ]] && echo yes || echo "no (${1:-no figure} ms)"; }
# A key made current at once is published when an issuer learns of it (within 2 s) and signs 2 s
# later (issuer/signing_hold.h): other issuers publish it first.
within_4s() { [[ $1 =~ ^[0-9]+$ && $1 -le 4000 ]] && echo yes || echo "no (${1:-no figure} ms)"; }

rm -f "$W/stop"
python3 "$ROOT/tests/integration/rotation_load.py" --issuers "127.0.0.1:$IA,127.0.0.1:$IB" \
  --gateways "127.0.0.1:$G1,127.0.0.1:$G2" --client-id svc --secret "$SECRET" \
  --stop-file "$W/stop" --max-seconds 200 > "$W/load.json" 2> "$W/load.err" & LOAD=$!
sleep 2
# scheduled rotation: publish the next key, wait publish_ahead (60 s), promote it
out=$("$BIN" --config "$W/issuer-a.yaml" keys rotate 2>&1); t=$(now_ms)
NEXT=$(sed -n 's/^new key \([^ ]*\) published as next.*/\1/p' <<<"$out")
ms=$(seen_in_jwks "$NEXT" "$t")
check "scheduled rotation: both issuers publish the next key within 2 s" yes "$(within_2s "$ms")"
echo "next key $NEXT published by both issuers after $ms ms"
sleep 61
out=$("$BIN" --config "$W/issuer-a.yaml" keys rotate 2>&1); t=$(now_ms)
contains "scheduled rotation: the next key becomes current" "is now current" "$out"
ms=$(signing_with "$NEXT" "$t")
check "scheduled rotation: both issuers sign with it within 2 s" yes "$(within_2s "$ms")"
echo "both issuers signing with $NEXT after $ms ms"
sleep 3
# forced rotation (a compromised key): a fresh key signs at once
out=$("$BIN" --config "$W/issuer-b.yaml" keys rotate --now 2>&1); t=$(now_ms)
FORCED=$(sed -n 's/^key \([^ ]*\) is now current.*/\1/p' <<<"$out")
ms=$(seen_in_jwks "$FORCED" "$t")
check "forced rotation: both issuers publish the new key within 2 s" yes "$(within_2s "$ms")"
echo "forced key $FORCED published by both issuers after $ms ms"
ms=$(signing_with "$FORCED" "$t")
check "forced rotation: both issuers sign with it within 4 s (published first, signing 2 s later)" yes "$(within_4s "$ms")"
echo "both issuers signing with $FORCED after $ms ms (forced)"
sleep 3
touch "$W/stop"; wait "$LOAD"
load=$(cat "$W/load.json")
echo "load across the rotations: $load"
[[ -n $load ]] || { echo "the load generator printed nothing; its stderr:"; cat "$W/load.err"; }
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$load" "$1"; }
check "rotations under load: requests failed" 0 "$(field failed)"
check "rotations under load: token requests failed" 0 "$(field token_failed)"
check "rotations under load: tokens of all three keys were used" 3 \
  "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["kids"]))' "$load")"
[[ $(field requests) -gt 1000 ]] && r=enough || r="only $(field requests)"
check "rotations under load: more than 1000 requests" enough "$r"

# ---------------------------------------------------------------- 5. database down and back
JWKS_BEFORE=$(curl -s "http://127.0.0.1:$IA/.well-known/jwks.json")
"$PGC" stop "$W/pg"
sleep 1.5
check "database down: issuer A still serves the JWKS" "$JWKS_BEFORE" "$(curl -s "http://127.0.0.1:$IA/.well-known/jwks.json")"
check "database down: issuer B still serves discovery" 200 "$(code "http://127.0.0.1:$IB/.well-known/openid-configuration")"
TD=$(token_from "$IB")
check "database down: issuers still sign with the current key" "$FORCED" "$(kid_of "$TD")"
check "database down: the token passes a gateway" 200 "$(code -H "Authorization: Bearer $TD" "http://127.0.0.1:$G1/myfunction/protected/user/x")"
out=$("$BIN" --config "$W/issuer-a.yaml" keys rotate --now 2>&1); rc=$?
check "database down: a rotation fails" 2 "$rc"
contains "... with a clear error" "PostgreSQL" "$out"
"$PGC" start "$W/pg" >/dev/null || { echo "cannot restart PostgreSQL"; exit 1; }
out=$("$BIN" --config "$W/issuer-a.yaml" keys rotate --now 2>&1); rc=$?; t=$(now_ms)
check "database back: rotation works again" 0 "$rc"
AFTER=$(sed -n 's/^key \([^ ]*\) is now current.*/\1/p' <<<"$out")
ms=$(seen_in_jwks "$AFTER" "$t")
check "database back: both issuers publish the new key within 2 s" yes "$(within_2s "$ms")"
ms=$(signing_with "$AFTER" "$t")
check "database back: both issuers sign with it within 4 s (published first, signing 2 s later)" yes "$(within_4s "$ms")"
TN=$(token_from "$IA")
check "database back: a token with the new key passes gateway 2" 200 "$(code -H "Authorization: Bearer $TN" "http://127.0.0.1:$G2/myfunction/protected/user/x")"
list=$("$BIN" --config "$W/issuer-a.yaml" keys list)
check "database back: one current key" 1 "$(grep -c " current " <<<"$list")"
check "database back: every key kept (first + next + forced + after)" 4 "$(tail -n +2 <<<"$list" | wc -l)"

# ---------------------------------------------------------------- 6. the JWKS as static files (CDN origin)
NGX=$(free_port)
"$BIN" --config "$W/issuer-a.yaml" publish --out "$W/www" >/dev/null
mkdir -p "$W/nginx"
sed -e "s#listen 80;#listen 127.0.0.1:$NGX;#" -e "s#root /srv/gatepass;#root $W/www;#" \
  "$ROOT/examples/nginx-published.conf" > "$W/nginx/site.conf"
cat > "$W/nginx/nginx.conf" <<NGINX
worker_processes 1; daemon off; pid $W/nginx/nginx.pid; error_log $W/nginx/error.log warn;
events { worker_connections 64; }
http {
  access_log off; include /etc/nginx/mime.types;
  client_body_temp_path $W/nginx; proxy_temp_path $W/nginx; fastcgi_temp_path $W/nginx;
  uwsgi_temp_path $W/nginx; scgi_temp_path $W/nginx;
  include $W/nginx/site.conf;
}
NGINX
nginx -c "$W/nginx/nginx.conf" -p "$W/nginx" 2>"$W/nginx/start.log" & PIDS+=($!)
wait_http "http://127.0.0.1:$NGX/.well-known/jwks.json" 50
check "examples/nginx-published.conf serves the published JWKS, equal to the live one" \
  "$(curl -s "http://127.0.0.1:$IA/.well-known/jwks.json")" "$(curl -s "http://127.0.0.1:$NGX/.well-known/jwks.json")"
hdrs=$(curl -s -D - -o /dev/null "http://127.0.0.1:$NGX/.well-known/jwks.json")
contains "... with Cache-Control" "Cache-Control: public, max-age=" "$hdrs"
contains "... as JSON" "Content-Type: application/json" "$hdrs"
check "... and discovery" 200 "$(code "http://127.0.0.1:$NGX/.well-known/openid-configuration")"

summary scale_e2e || { echo "--- issuer A log"; tail -20 "$W/issuer-a.log"; echo "--- gateway 1 log"; tail -20 "$W/gw1.log"; exit 1; }
