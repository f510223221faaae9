#!/usr/bin/env bash
# Gateway end to end with real processes on 127.0.0.1: gatepass serve (issuer + gateway), a
# sample upstream, and a real nginx with auth_request in front of the forward-auth endpoint.
# Usage: gateway_e2e.sh GATEPASS_BIN
set -uo pipefail
BIN=$(readlink -f "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /tmp/gp-e2e.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
fails=0; passes=0
check() {  # name expected actual
  if [[ "$2" == "$3" ]]; then passes=$((passes + 1)); echo "ok   $1";
  else fails=$((fails + 1)); echo "FAIL $1: expected [$2], got [$3]"; fi
}
contains() {  # name needle haystack
  if [[ "$3" == *"$2"* ]]; then passes=$((passes + 1)); echo "ok   $1";
  else fails=$((fails + 1)); echo "FAIL $1: [$2] not in [$3]"; fi
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ISS=$(free_port); GW=$(free_port); UP=$(free_port); DEAD=$(free_port); NGX=$(free_port)
export GATEPASS_PASSPHRASE=e2e-passphrase
cd "$W"
"$BIN" init --dir "$W" --issuer "http://127.0.0.1:$ISS" --audience my-audience >/dev/null 2>&1 || { echo "init failed"; exit 1; }
write_config() {  # extra route lines
  cat > "$W/gatepass.yaml" <<YAML
issuer: { url: "http://127.0.0.1:$ISS", audience: [my-audience], listen: "127.0.0.1:$ISS" }
keys: { store: "file:keys", algorithm: RS256, passphrase_env: GATEPASS_PASSPHRASE }
gateway:
  listen: 127.0.0.1:$GW
  threads: 2
  access_log: false
  limits: { max_header_bytes: 8192 }
  authorizers:
    jwtAuthorizer:
      issuer_url: "http://127.0.0.1:$ISS"
      audience: [my-audience]
      refetch_cooldown: 1s
  routes:
    - { method: GET, path: "/myfunction/protected/user/{proxy+}",  authorizer: jwtAuthorizer, scopes: [USER],  upstream: "http://127.0.0.1:$UP" }
    - { method: GET, path: "/myfunction/protected/admin/{proxy+}", authorizer: jwtAuthorizer, scopes: [ADMIN], upstream: "http://127.0.0.1:$UP" }
    - { method: GET, path: "/down/{proxy+}", authorizer: jwtAuthorizer, upstream: "http://127.0.0.1:$DEAD" }
$1
YAML
}
write_config ""
python3 "$ROOT/examples/echo_upstream.py" "$UP" & PIDS+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$UP/" && break; sleep 0.1; done
"$BIN" --config "$W/gatepass.yaml" serve > "$W/serve.log" 2>&1 & GP=$!; PIDS+=($GP)
for _ in $(seq 150); do curl -sf "http://127.0.0.1:$GW/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
check "readyz once the JWKS is loaded" 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$GW/readyz")"
USER_T=$("$BIN" --config "$W/gatepass.yaml" token issue --sub alice --scope USER 2>/dev/null)
BOTH_T=$("$BIN" --config "$W/gatepass.yaml" token issue --sub root --scope "USER ADMIN" 2>/dev/null)
G="http://127.0.0.1:$GW"
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

check "USER token on the user route" 200 "$(code -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/a")"
check "USER token on the admin route" 403 "$(code -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/admin/a")"
check "USER+ADMIN token on the admin route" 200 "$(code -H "Authorization: Bearer $BOTH_T" "$G/myfunction/protected/admin/a")"
check "no token" 401 "$(code "$G/myfunction/protected/user/a")"
check "garbage token" 401 "$(code -H "Authorization: Bearer abc.def.ghi" "$G/myfunction/protected/user/a")"
check "Basic scheme" 401 "$(code -H "Authorization: Basic dXNlcjpwYXNz" "$G/myfunction/protected/user/a")"
check "token in header and query" 401 "$(code -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/a?access_token=$USER_T")"
check "no route" 404 "$(code "$G/nothing/here")"
contains "401 body" '{"message":"Unauthorized"}' "$(curl -s "$G/myfunction/protected/user/a")"
contains "401 challenge" 'error="invalid_token"' "$(curl -s -D - -o /dev/null "$G/myfunction/protected/user/a" | grep -i www-authenticate)"
contains "403 challenge" 'error="insufficient_scope"' "$(curl -s -D - -o /dev/null -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/admin/a" | grep -i www-authenticate)"
contains "404 body" '{"message":"Not Found"}' "$(curl -s "$G/nothing")"

# claims reach the upstream; spoofed claim headers never do
body=$(curl -s -H "Authorization: Bearer $USER_T" -H "X-Gatepass-Sub: mallory" -H "X-Gatepass-Scopes: ADMIN" "$G/myfunction/protected/user/a")
contains "upstream sees the token's sub" '"sub": "alice"' "$body"
contains "upstream sees the token's scopes" '"scopes": "USER"' "$body"
body=$(curl -s -H "X-Gatepass-Sub: mallory" "$G/myfunction/protected/user/a")
contains "spoofed header with no token: 401" 'Unauthorized' "$body"

# path tricks never reach another route's path
check "../ climbs to the admin route (USER token)" 403 "$(code --path-as-is -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/../admin/x")"
check "%2e%2e climbs to the admin route" 403 "$(code --path-as-is -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/%2e%2e/admin/x")"
check "encoded slash" 400 "$(code --path-as-is -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/a%2F..%2F..%2Fadmin")"
body=$(curl -s --path-as-is -H "Authorization: Bearer $USER_T" "$G//myfunction//protected/user/./b")
contains "duplicate slashes merged, upstream gets the normalized path" '"path": "/myfunction/protected/user/b"' "$body"

check "oversized header" 431 "$(code -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)" "$G/myfunction/protected/user/a")"
check "upstream down" 502 "$(code -H "Authorization: Bearer $USER_T" "$G/down/x")"
check "chunked upstream response streams through" "first;second;third" "$(curl -s -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/chunked")"
body=$(curl -s -X GET -H "Authorization: Bearer $USER_T" --data-binary @<(head -c 300000 /dev/urandom) -H "Content-Type: application/octet-stream" "$G/myfunction/protected/user/upload")
contains "request body streamed to the upstream" '"body_bytes": 300000' "$body"

# rotation: a token with the new kid is accepted without a restart (one unknown-kid refetch)
sleep 1.2
"$BIN" --config "$W/gatepass.yaml" keys rotate --now >/dev/null 2>&1
NEW_T=$("$BIN" --config "$W/gatepass.yaml" token issue --sub alice --scope USER 2>/dev/null)
NEW_KID=$(python3 -c 'import base64,json,sys; h=sys.argv[1].split(".")[0]; print(json.loads(base64.urlsafe_b64decode(h+"="*(-len(h)%4)))["kid"])' "$NEW_T")
# the issuer picks up the rotated store by itself (polls once a second); wait until it publishes
for _ in $(seq 100); do curl -s "http://127.0.0.1:$ISS/.well-known/jwks.json" | grep -q "$NEW_KID" && break; sleep 0.1; done
# the first request with the new kid waits for the one shared JWKS refetch, then passes
check "token from the rotated key, first request, no restart" 200 "$(code -H "Authorization: Bearer $NEW_T" "$G/myfunction/protected/user/a")"
check "token from the old key still valid" 200 "$(code -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/a")"
metrics=$(curl -s "$G/metrics")
contains "metrics: requests by route" 'gatepass_requests_total{route="GET /myfunction/protected/user/{proxy+}",status="200"}' "$metrics"
contains "metrics: denials by reason" 'gatepass_denied_total{reason="scope_insufficient"}' "$metrics"

# SIGHUP: a new route without dropping anything
write_config "    - { method: GET, path: \"/added/{proxy+}\", upstream: \"http://127.0.0.1:$UP\" }"
kill -HUP "$GP"
sleep 0.5
check "route added by SIGHUP" 200 "$(code "$G/added/x")"
check "old routes still served after SIGHUP" 200 "$(code -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/a")"

# nginx auth_request in front of the forward-auth endpoint
if command -v nginx >/dev/null; then
  mkdir -p "$W/nginx"
  cat > "$W/nginx/nginx.conf" <<NGINX
worker_processes 1; daemon off; pid $W/nginx/nginx.pid; error_log $W/nginx/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $W/nginx; proxy_temp_path $W/nginx; fastcgi_temp_path $W/nginx;
  uwsgi_temp_path $W/nginx; scgi_temp_path $W/nginx;
  server {
    listen 127.0.0.1:$NGX;
    location / {
      auth_request /_gatepass_auth;
      auth_request_set \$gp_sub \$upstream_http_x_gatepass_sub;
      proxy_set_header X-Gatepass-Sub \$gp_sub;
      proxy_pass http://127.0.0.1:$UP;
    }
    location = /_gatepass_auth {
      internal;
      proxy_pass http://127.0.0.1:$GW/_gatepass/auth;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI \$request_uri;
      proxy_set_header X-Original-Method \$request_method;
    }
  }
}
NGINX
  nginx -c "$W/nginx/nginx.conf" -p "$W/nginx" 2>"$W/nginx/start.log" & PIDS+=($!)
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$NGX/" && break; sleep 0.1; done
  N="http://127.0.0.1:$NGX"
  check "nginx auth_request: allowed" 200 "$(code -H "Authorization: Bearer $USER_T" "$N/myfunction/protected/user/a")"
  contains "nginx auth_request: claims forwarded" '"sub": "alice"' "$(curl -s -H "Authorization: Bearer $USER_T" "$N/myfunction/protected/user/a")"
  check "nginx auth_request: no token" 401 "$(code "$N/myfunction/protected/user/a")"
  check "nginx auth_request: missing scope" 403 "$(code -H "Authorization: Bearer $USER_T" "$N/myfunction/protected/admin/a")"
else
  fails=$((fails + 1)); echo "FAIL nginx not installed (scripts/install-deps installs it)"
fi

kill -TERM "$GP"
for _ in $(seq 100); do kill -0 "$GP" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$GP" 2>/dev/null; then fails=$((fails + 1)); echo "FAIL SIGTERM drain"; else passes=$((passes + 1)); echo "ok   SIGTERM drains and exits"; fi

echo "gateway e2e: $passes passed, $fails failed"
[[ $fails -eq 0 ]] || { echo "--- serve.log"; tail -30 "$W/serve.log"; exit 1; }
