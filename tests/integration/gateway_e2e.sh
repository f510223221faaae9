#!/usr/bin/env bash
# Gateway end to end with real processes on 127.0.0.1: gatepass serve (issuer + gateway), a
# sample upstream, and a real nginx with auth_request in front of the forward-auth endpoint.
# Usage: gateway_e2e.sh GATEPASS_BIN
set -uo pipefail
BIN=$(readlink -f "$1")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/support/e2e_lib.sh"
e2e_start e2e
ISS=$(free_port); GW=$(free_port); UP=$(free_port); DEAD=$(free_port)
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
      claims_to_headers: { X-Client-Id: client_id }
    queryAuthorizer:
      identity_source: \$request.querystring.token
      issuer_url: "http://127.0.0.1:$ISS"
      audience: [my-audience]
      forward_authorization: false
    apiKeyAuthorizer:
      identity_source: \$request.header.X-Api-Token
      issuer_url: "http://127.0.0.1:$ISS"
      audience: [my-audience]
      forward_authorization: "no"
    apiKeyForwarded:
      identity_source: \$request.header.X-Api-Token
      issuer_url: "http://127.0.0.1:$ISS"
      audience: [my-audience]
  routes:
    - { method: GET, path: "/q/{proxy+}", authorizer: queryAuthorizer, scopes: [USER], upstream: "http://127.0.0.1:$UP" }
    - { method: GET, path: "/k/{proxy+}", authorizer: apiKeyAuthorizer, scopes: [USER], upstream: "http://127.0.0.1:$UP" }
    - { method: GET, path: "/kf/{proxy+}", authorizer: apiKeyForwarded, scopes: [USER], upstream: "http://127.0.0.1:$UP" }
    - { method: GET, path: "/myfunction/protected/user/{proxy+}",  authorizer: jwtAuthorizer, scopes: [USER],  upstream: "http://127.0.0.1:$UP" }
    - { method: GET, path: "/myfunction/protected/admin/{proxy+}", authorizer: jwtAuthorizer, scopes: [ADMIN], upstream: "http://127.0.0.1:$UP" }
    - { method: GET, path: "/down/{proxy+}", authorizer: jwtAuthorizer, upstream: "http://127.0.0.1:$DEAD" }
    - { method: GET, path: "/public/{proxy+}", upstream: "http://127.0.0.1:$UP" }
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
head_len() { curl -s -I "$1" | tr -d '\r' | awk -F': ' 'tolower($1) == "content-length" {print $2}'; }
check "issuer HEAD answers carry the GET body's Content-Length (RFC 9110 §9.3.2)" \
  "$(curl -s "http://127.0.0.1:$ISS/.well-known/jwks.json" | wc -c) $(curl -s "http://127.0.0.1:$ISS/.well-known/openid-configuration" | wc -c)" \
  "$(head_len "http://127.0.0.1:$ISS/.well-known/jwks.json") $(head_len "http://127.0.0.1:$ISS/.well-known/openid-configuration")"
etag=$(curl -s -D - -o /dev/null "http://127.0.0.1:$ISS/.well-known/jwks.json" | tr -d '\r' | awk -F': ' 'tolower($1) == "etag" {print $2}')
check "issuer 304 to a GET and a HEAD with the ETag: no Content-Length (it would have to be the 200's, RFC 9110 §8.6)" "304:0 304:0" \
  "$(for m in GET HEAD; do curl -s -D - -o /dev/null -X "$m" -H "If-None-Match: $etag" "http://127.0.0.1:$ISS/.well-known/jwks.json" | tr -d '\r' | awk '/^HTTP/ {s=$2} tolower($1) == "content-length:" {n++} END {printf "%s:%d ", s, n}'; done | sed 's/ $//')"
printf -- '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQ==\n-----END PUBLIC KEY-----\n' > "$W/public-as-secret.pem"
check "token verify --secret-file refuses a PEM key as an HMAC secret (algorithm confusion): exit 2" 2 \
  "$("$BIN" token verify --secret-file "$W/public-as-secret.pem" "$USER_T" >/dev/null 2>&1; echo $?)"
verify_url() { "$BIN" token verify --jwks "http://127.0.0.1:$ISS/.well-known/jwks.json" --issuer "http://127.0.0.1:$ISS" "$@" >/dev/null 2>&1; echo $?; }
check "token verify --jwks URL, the token after a repeatable option: valid 0, wrong audience 1, unreachable URL 2" "0 1 2" \
  "$(verify_url --audience other --audience my-audience "$USER_T") $(verify_url --audience other "$USER_T") $("$BIN" token verify --jwks "http://127.0.0.1:$DEAD/jwks.json" "$USER_T" >/dev/null 2>&1; echo $?)"

check "USER token on the user route" 200 "$(code -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/a")"
check "USER token on the admin route" 403 "$(code -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/admin/a")"
check "USER+ADMIN token on the admin route" 200 "$(code -H "Authorization: Bearer $BOTH_T" "$G/myfunction/protected/admin/a")"
check "no token" 401 "$(code "$G/myfunction/protected/user/a")"
check "garbage token" 401 "$(code -H "Authorization: Bearer abc.def.ghi" "$G/myfunction/protected/user/a")"
check "Basic scheme" 401 "$(code -H "Authorization: Basic dXNlcjpwYXNz" "$G/myfunction/protected/user/a")"
check "token in header and query" 401 "$(code -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/a?access_token=$USER_T")"
check "token in header and query, the query name spelled as upstream parsers read it (%61ccess_token, access%5ftoken, ACCESS_TOKEN, access.token, after ';')" \
  "401 401 401 401 401" "$(for q in '%61ccess_token=x' 'access%5ftoken=x' 'ACCESS_TOKEN=x' 'access.token=x' 'a=1;access_token=x'; do
      code -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/a?$q"; echo; done | paste -sd' ')"
check "no route" 404 "$(code "$G/nothing/here")"
contains "401 body" '{"message":"Unauthorized"}' "$(curl -s "$G/myfunction/protected/user/a")"
contains "401 challenge" 'error="invalid_token"' "$(curl -s -D - -o /dev/null "$G/myfunction/protected/user/a" | grep -i www-authenticate)"
contains "403 challenge" 'error="insufficient_scope"' "$(curl -s -D - -o /dev/null -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/admin/a" | grep -i www-authenticate)"
contains "404 body" '{"message":"Not Found"}' "$(curl -s "$G/nothing")"
# every reason a token is refused, with its whole challenge (RFC 6750 §3): tokens signed by the
# issuer's own key with one thing wrong each
KID=$(python3 -c 'import base64,json,sys; h=sys.argv[1].split(".")[0]; print(json.loads(base64.urlsafe_b64decode(h+"="*(-len(h)%4)))["kid"])' "$USER_T")
openssl pkey -in "$W/keys/$KID.key.pem" -passin env:GATEPASS_PASSPHRASE -out "$W/issuer-plain.pem"
now=$(date +%s)
signed() {  # scope [token sign options…]: signed with the issuer's key
  local scope=$1; shift
  "$BIN" token sign --key "$W/issuer-plain.pem" --kid "$KID" --iss "http://127.0.0.1:$ISS" --aud my-audience --scope "$scope" "$@" 2>/dev/null
}
challenge_of() { curl -s -D - -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "$G/myfunction/protected/user/a" | tr -d '\r' | sed -n 's/^[Ww][Ww][Ww]-[Aa]uthenticate: //p; /^[0-9][0-9][0-9]$/p' | paste -sd' '; }
bearer() { echo "Bearer realm=\"gatepass\", scope=\"USER\", error=\"$1\", error_description=\"$2\" $3"; }
while IFS='|' read -r what token error description status; do
  check "refused: $what" "$(bearer "$error" "$description" "$status")" "$(challenge_of "$token")"
done <<ROWS
no token||invalid_token|no token in the request|401
expired|$(signed USER --claim exp=$((now - 3600)))|invalid_token|the token has expired|401
expired and without the route's scope: expired first|$(signed ADMIN --claim exp=$((now - 3600)))|invalid_token|the token has expired|401
not valid yet (nbf)|$(signed USER --claim nbf=$((now + 3600)))|invalid_token|the token is not valid yet (nbf)|401
issued in the future (iat)|$(signed USER --claim iat=$((now + 3600)))|invalid_token|the token was issued in the future (iat)|401
another audience|$("$BIN" token sign --key "$W/issuer-plain.pem" --kid "$KID" --iss "http://127.0.0.1:$ISS" --aud other --scope USER 2>/dev/null)|invalid_token|no aud value is a configured audience|401
another issuer|$("$BIN" token sign --key "$W/issuer-plain.pem" --kid "$KID" --iss "http://127.0.0.1:$DEAD" --aud my-audience --scope USER 2>/dev/null)|invalid_token|iss differs from the configured issuer (exact compare)|401
a kid the issuer never published|$("$BIN" token sign --key "$W/issuer-plain.pem" --kid never-published --iss "http://127.0.0.1:$ISS" --aud my-audience --scope USER 2>/dev/null)|invalid_token|no key with this kid|401
without the route's scope|$(signed ADMIN)|insufficient_scope|the token lacks the scope the route requires|403
ROWS
JWK_T=$(python3 -c 'import base64, json
b = lambda o: base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=").decode()
print(b({"alg": "RS256", "typ": "at+jwt", "kid": "k", "jwk": {"kty": "RSA"}}) + "." + b({"sub": "x"}) + ".AAAA")')
challenge=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $JWK_T" "$G/myfunction/protected/user/a" | grep -i '^www-authenticate' | tr -d '\r')
check "the challenge's error_description is plain ASCII (RFC 6750 §3): § spelled out" "ascii section" \
  "$(LC_ALL=C grep -q '[^ -~]' <<<"$challenge" && echo non-ascii || echo ascii) $(grep -o 'section' <<<"$challenge")"

# claims reach the upstream; spoofed claim headers never do
body=$(curl -s -H "Authorization: Bearer $USER_T" -H "X-Gatepass-Sub: mallory" -H "X-Gatepass-Scopes: ADMIN" "$G/myfunction/protected/user/a")
contains "upstream sees the token's sub" '"sub": "alice"' "$body"
contains "upstream sees the token's scopes" '"scopes": "USER"' "$body"
body=$(curl -s -H "X-Gatepass-Sub: mallory" "$G/myfunction/protected/user/a")
contains "spoofed header with no token: 401" 'Unauthorized' "$body"
names() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(sorted(n.lower() for n in d["header_names"] if n.lower().replace("_", "-").startswith(("x-gatepass-sub", "x-forwarded-for", "x-client-id", "forwarded", "x-real-ip", "x-forwarded-port", "x-forwarded-prefix")))))'; }
check "spoofs spelled with '_' (X_Gatepass_Sub, X_Forwarded_For, X_Client_Id) and Forwarded, X-Real-IP, X-Forwarded-Port/-Prefix never reach the upstream" \
  "x-client-id x-forwarded-for x-gatepass-sub" "$(curl -s -H "Authorization: Bearer $USER_T" -H 'X_Gatepass_Sub: mallory' -H 'X_Forwarded_For: 10.0.0.1' -H 'X_Client_Id: spoof' -H 'X-Client-Id: spoof' \
      -H 'Forwarded: for=10.0.0.1;host=evil.test;proto=https' -H 'X-Real-IP: 10.0.0.1' -H 'X-Forwarded-Port: 8443' -H 'X-Forwarded-Prefix: /admin' "$G/myfunction/protected/user/a" | names)"
contains "... the configured claim header carries the token's claim" '"client_id": "gatepass-cli"' \
  "$(curl -s -H "Authorization: Bearer $USER_T" -H 'X-Client-Id: spoof' "$G/myfunction/protected/user/a")"
check "path and method overrides and client-address fields some frameworks act on never reach the upstream" "" \
  "$(curl -s -H "Authorization: Bearer $USER_T" -H 'X-Original-URL: /admin' -H 'X-Rewrite-URL: /admin' -H 'X-HTTP-Method-Override: DELETE' \
      -H 'X_Method_Override: DELETE' -H 'X-Forwarded-Scheme: https' -H 'True-Client-IP: 10.0.0.1' -H 'X-Client-IP: 10.0.0.1' "$G/myfunction/protected/user/a" |
      python3 -c 'import json,sys; print(" ".join(n for n in json.load(sys.stdin)["header_names"] if n.lower().replace("_", "-") in ("x-original-url", "x-rewrite-url", "x-http-method-override", "x-method-override", "x-forwarded-scheme", "true-client-ip", "x-client-ip")))')"
q_body=$(curl -s "$G/q/a?x=1&token=$USER_T;y=2")
check "identity source in the query, forward_authorization false: authorized, the token taken out of the query, the rest kept" \
  '"path": "/q/a?x=1;y=2"|no token upstream' "$(grep -o '"path": "[^"]*"' <<<"$q_body")|$([[ $q_body == *"${USER_T:0:40}"* ]] && echo token upstream || echo no token upstream)"
k_body=$(curl -s -H "X-Api-Token: $USER_T" "$G/k/a")
check "identity source X-Api-Token, forward_authorization \"no\": authorized, the token's field stays at the gateway" \
  '"sub": "alice"|no token upstream' "$(grep -o '"sub": "[^"]*"' <<<"$k_body")|$(grep -qi '"x-api-token"' <<<"$k_body" && echo token upstream || echo no token upstream)"
check "identity source X-Api-Token, forwarded, and a second token beside it (X_Api_Token, a Bearer Authorization, access_token): 401 each; a Basic Authorization passes" \
  "401 401 401 200" "$(code -H "X-Api-Token: $USER_T" -H "X_Api_Token: x.y.z" "$G/kf/a") $(code -H "X-Api-Token: $USER_T" -H "Authorization: Bearer x.y.z" "$G/kf/a") $(code -H "X-Api-Token: $USER_T" "$G/kf/a?access_token=x.y.z") $(code -H "X-Api-Token: $USER_T" -H "Authorization: Basic dTpw" "$G/kf/a")"
k_body=$(curl -s -H "X-Api-Token: $USER_T" -H "X_Api_Token: x.y.z" -H "Authorization: Bearer x.y.z" "$G/k/a")
check "identity source X-Api-Token, not forwarded: the copies beside it are dropped, not refused" \
  '"sub": "alice"|none upstream' "$(grep -o '"sub": "[^"]*"' <<<"$k_body")|$(grep -qiE '"(authorization|x_api_token|x-api-token)"' <<<"$k_body" && echo "some upstream" || echo "none upstream")"
check "a configured claim header sent to a public route never reaches the upstream" "x-forwarded-for" \
  "$(curl -s -H 'X-Client-Id: spoof' -H 'X-Gatepass-Sub: mallory' "$G/public/a" | names)"

# path tricks never reach another route's path
check "../ climbs to the admin route (USER token)" 403 "$(code --path-as-is -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/../admin/x")"
check "%2e%2e climbs to the admin route" 403 "$(code --path-as-is -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/%2e%2e/admin/x")"
check "encoded slash" 400 "$(code --path-as-is -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/a%2F..%2F..%2Fadmin")"
check "path parameters naming another route than the path without them ('admin;x' is 'admin' to Tomcat): 400" 400 \
  "$(code -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/admin;x/a")"
check "a raw '#' (an upstream serves the path before it) and '..;' (Tomcat's '..'): 400 each, no token needed to be refused" "400 400" \
  "$(code --request-target '/public/x/../../myfunction/protected/admin#' "$G/") $(code --path-as-is -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/..;/admin/x")"
check "dots escaped twice or as overlong UTF-8 (a server decoding again serves the admin path): 400 each" "400 400 400" \
  "$(code --path-as-is -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/%252e%252e/admin/x") $(code --path-as-is -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/%C0%AE%C0%AE/admin/x") $(code --path-as-is "$G/public/%E0%80%AE%E0%80%AE/myfunction/protected/admin/x")"
body=$(curl -s --path-as-is -H "Authorization: Bearer $USER_T" "$G//myfunction//protected/user/./b")
contains "duplicate slashes merged, upstream gets the normalized path" '"path": "/myfunction/protected/user/b"' "$body"

check "oversized header" 431 "$(code -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)" "$G/myfunction/protected/user/a")"
check "upstream down" 502 "$(code -H "Authorization: Bearer $USER_T" "$G/down/x")"
check "chunked upstream response streams through" "first;second;third" "$(curl -s -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/chunked")"
# Message heads: the gateway keeps a head as views of the bytes it read, so a head that came in
# pieces must be parsed whole, and a folded line (which the parser would assemble elsewhere)
# is refused: 400 from a client, 502 from an upstream (RFC 9112 §5.2).
raw_request() {  # port head-parts… → "status body"; parts sent 50 ms apart
  python3 - "$@" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
for part in sys.argv[2:]:
    s.sendall(part.encode().decode("unicode_escape").encode("latin-1"))
    time.sleep(0.05)
data = b""
while b"\r\n\r\n" not in data:
    chunk = s.recv(65536)
    if not chunk: break
    data += chunk
head, _, body = data.partition(b"\r\n\r\n")
length = next((int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")), 0)
while len(body) < length:
    chunk = s.recv(65536)
    if not chunk: break
    body += chunk
print(head.split(b" ")[1].decode() if head else "none", body.decode().strip())
PY
}
# (Beast parses a first piece that holds whole lines at once; the next read reuses those bytes)
out=$(raw_request "$GW" 'GET /myfunction/protected/user/pieces HTTP/1.1\r\nHost: x\r\n' 'Authorization: Bearer '"$USER_T" '\r\n' '\r\n')
check "request head in four pieces: proxied whole" 200 "${out%% *}"
contains "request head in four pieces: path and claims intact" '"path": "/myfunction/protected/user/pieces", "sub": "alice"' "$out"
out=$(raw_request "$GW" 'GET /myfunction/protected/user/a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer '"$USER_T"'\r\nX-A: one\r\n two\r\n\r\n')
check "folded request header refused" 400 "${out%% *}"
# an upstream that cuts its answer mid-head on a pooled connection: 502, and the request is not
# sent again (only a connection that closed before answering anything is retried)
curl -s -o /dev/null -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/warm"
cuts_before=$(curl -s "http://127.0.0.1:$UP/cut-count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cut"])')
check "upstream answer cut mid-head: 502" 502 "$(code -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/cut")"
cuts_after=$(curl -s "http://127.0.0.1:$UP/cut-count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cut"])')
check "upstream answer cut mid-head: the request reached it once" 1 "$((cuts_after - cuts_before))"
check "folded upstream response header: 502" 502 "$(code -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/folded")"
body=$(curl -s -X GET -H "Authorization: Bearer $USER_T" --data-binary @<(head -c 300000 /dev/urandom) -H "Content-Type: application/octet-stream" "$G/myfunction/protected/user/upload")
contains "request body streamed to the upstream" '"body_bytes": 300000' "$body"
# Expect: 100-continue: the gateway sends 100 itself once the request may go on and forwards no
# Expect (an upstream's own 100 used to reach the client as the final answer: curl then hung);
# a request it refuses gets its final status without an invitation to send the body
out=$(curl -s -w ' %{http_code} %{time_total}' --expect100-timeout 20 -X GET -H "Expect: 100-continue" \
  -H "Authorization: Bearer $USER_T" --data-binary @<(head -c 5000 /dev/urandom) "$G/myfunction/protected/user/expect")
contains "Expect: 100-continue: the body reaches the upstream" '"body_bytes": 5000' "$out"
contains "Expect: 100-continue: the upstream gets no Expect field" '"expect": null' "$out"
check "Expect: 100-continue: answered at once (no wait for a 100 that never comes)" fast \
  "$(awk 'END { print ($NF < 5 ? "fast" : "slow: " $NF " s") }' <<<"$out")"
out=$(raw_request "$GW" 'GET /myfunction/protected/user/a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n')
check "Expect: 100-continue without a token: 401 first, no 100" 401 "${out%% *}"
check "an expectation other than 100-continue: 417" 417 "$(code -X GET -H "Expect: teapot" -H "Authorization: Bearer $USER_T" --data x "$G/myfunction/protected/user/a")"
# Interim answers from the upstream: passed on to an HTTP/1.1 client before the final one, never
# to an HTTP/1.0 one; a 101 the gateway never asked for is a bad answer
statuses() {  # port request → the status codes of every answer on the connection, then the body
  python3 - "$@" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk: break
    data += chunk
codes = [line.split(b" ")[1].decode() for line in data.split(b"\r\n") if line.startswith(b"HTTP/1.")]
print(" ".join(codes), data.rpartition(b"\r\n\r\n")[2].decode().strip())
PY
}
out=$(statuses "$GW" 'GET /myfunction/protected/user/early-hints HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer '"$USER_T"'\r\n\r\n')
check "upstream 103 Early Hints: passed on, then the final answer" '103 200 {"final": true}' "$out"
out=$(statuses "$GW" 'GET /myfunction/protected/user/early-hints HTTP/1.0\r\nHost: x\r\nAuthorization: Bearer '"$USER_T"'\r\n\r\n')
check "upstream 103 Early Hints: not sent to an HTTP/1.0 client" '200 {"final": true}' "$out"
t0=$(date +%s%N)
out=$(statuses "$GW" 'GET /public/a HTTP/1.1\nHost: x\n\n')
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "a request whose lines end in a bare LF: 400 at once (not at the read timeout)" "400 fast" \
  "${out%% *} $([[ $ms -lt 2000 ]] && echo fast || echo "slow (${ms} ms)")"
out=$(statuses "$GW" 'POST /public/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n')
check "a request body coded gzip, then chunked: 501 (the gateway writes chunked alone)" 501 "${out%% *}"
check "upstream 101 Switching Protocols unasked: 502" 502 "$(code -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/switch")"

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
check "metrics: a 404 or a 502 is no denial (counted by status)" "" \
  "$(grep -oE 'gatepass_denied_total\{reason="(route_not_found|upstream_refused)"\}' <<<"$metrics")"

# SIGHUP: a new route without dropping anything
check "before SIGHUP: no route for /added/x" 404 "$(code "$G/added/x")"
user_200() { curl -s "$G/metrics" | grep -F 'gatepass_requests_total{route="GET /myfunction/protected/user/{proxy+}",status="200"} ' | awk '{print $NF}'; }
hits() { curl -s "$G/metrics" | awk '$1 == "gatepass_token_cache_total{authorizer=\"jwtAuthorizer\",result=\"hit\"}" {print $2}'; }
before_hup=$(user_200); hits_before=$(hits)
# a keep-alive connection held open across the reload (python: one request before, one after)
exec {held}< <(python3 - "$GW" "$USER_T" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(10)
req = ("GET /myfunction/protected/user/held HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + sys.argv[2] + "\r\n\r\n").encode()
def one():
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(body) < n: body += s.recv(65536)
    return head.split(b" ")[1].decode()
s.sendall(req); first = one()
print("open", flush=True)
time.sleep(2.5)  # the reload happens meanwhile
s.sendall(req); print(first, one(), flush=True)
PY
)
read -r -t 10 opened <&$held
conns=$(curl -s "$G/metrics" | awk '$1 == "gatepass_connections" {print $2}')
check "metrics: the open-connections gauge counts a held keep-alive connection (and the one asking)" "yes" "$([[ $opened == open && ${conns:-0} -ge 2 ]] && echo yes || echo "no (gauge ${conns:-none})")"
write_config "    - { method: GET, path: \"/added/{proxy+}\", upstream: \"http://127.0.0.1:$UP\" }"
kill -HUP "$GP"
for _ in $(seq 100); do [[ $(code "$G/added/x") == 200 ]] && break; sleep 0.1; done
check "route added by SIGHUP" 200 "$(code "$G/added/x")"
check "old routes still served after SIGHUP" 200 "$(code -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/a")"
read -r -t 10 held_codes <&$held; exec {held}<&-
check "a keep-alive connection open across SIGHUP: served before and after" "200 200" "$held_codes"
# admin_listen cannot move by a reload: said so, and /metrics stays where it is served
ADM=$(free_port)
sed -i "s/^  threads: 2$/  threads: 2\n  admin_listen: 127.0.0.1:$ADM/" "$W/gatepass.yaml"
reloads=$(grep -c "configuration reloaded" "$W/serve.log")
kill -HUP "$GP"
for _ in $(seq 100); do [[ $(grep -c "configuration reloaded" "$W/serve.log") -gt $reloads ]] && break; sleep 0.1; done
check "SIGHUP adding admin_listen: 'restart to apply', /metrics still on the listener" "said 200" \
  "$(grep -q "gateway.admin_listen changed: restart to apply" "$W/serve.log" && echo said || echo silent) $(code "$G/metrics")"
write_config "    - { method: GET, path: \"/added/{proxy+}\", upstream: \"http://127.0.0.1:$UP\" }"
after_hup=$(user_200)
check "metrics after SIGHUP carry on (requests by route do not fall back), verified tokens stay cached" "yes yes" \
  "$([[ ${after_hup:-0} -gt ${before_hup:-0} ]] && echo yes || echo "no ($before_hup → $after_hup)") $([[ $(hits) -gt ${hits_before:-0} ]] && echo yes || echo "no (hits $hits_before → $(hits))")"

# nginx auth_request in front of the forward-auth endpoint
if command -v nginx >/dev/null; then
  # its port chosen now, not at the start: a port left unbound for a minute of tests can be
  # taken meanwhile as the local port of an outgoing connection
  NGX=$(free_port)
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
      auth_request_set \$gp_scopes \$upstream_http_x_gatepass_scopes;
      auth_request_set \$gp_claims \$upstream_http_x_gatepass_claims;
      proxy_set_header X-Gatepass-Sub \$gp_sub;
      proxy_set_header X-Gatepass-Scopes \$gp_scopes;
      proxy_set_header X-Gatepass-Claims \$gp_claims;
      proxy_pass http://127.0.0.1:$UP;
    }
    location = /_gatepass_auth {
      internal;
      proxy_pass http://127.0.0.1:$GW/_gatepass/auth;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI \$request_uri;
      proxy_set_header X-Original-Method \$request_method;
      proxy_set_header X-Forwarded-Uri "";
      proxy_set_header X-Forwarded-Method "";
    }
  }
}
NGINX
  nginx -c "$W/nginx/nginx.conf" -p "$W/nginx" 2>"$W/nginx/start.log" & NGX_PID=$!; PIDS+=($NGX_PID)
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$NGX/" && break; sleep 0.1; done
  N="http://127.0.0.1:$NGX"
  # what answers on its port is this nginx (a check against another listener proves nothing)
  check "nginx auth_request: nginx runs, and answers on its port" "running nginx" \
    "$(kill -0 "$NGX_PID" 2>/dev/null && echo running || echo "exited: $(cat "$W/nginx/start.log" "$W/nginx/error.log" 2>/dev/null)") $(curl -s -o /dev/null -w '%header{server}' "$N/" | cut -d/ -f1)"
  check "nginx auth_request: allowed" 200 "$(code -H "Authorization: Bearer $USER_T" "$N/myfunction/protected/user/a")"
  body=$(curl -s -H "Authorization: Bearer $USER_T" -H "X-Gatepass-Sub: mallory" -H "X-Gatepass-Scopes: ADMIN" "$N/myfunction/protected/user/a")
  contains "nginx auth_request: claims forwarded" '"sub": "alice"' "$body"
  contains "nginx auth_request: the answer's scopes replace a client's own X-Gatepass-Scopes" '"scopes": "USER"' "$body"
  check "nginx auth_request: no token" 401 "$(code "$N/myfunction/protected/user/a")"
  check "nginx auth_request: missing scope" 403 "$(code -H "Authorization: Bearer $USER_T" "$N/myfunction/protected/admin/a")"
  check "nginx auth_request: a client's own X-Forwarded-Uri naming an allowed path changes nothing" 403 \
    "$(code -H "Authorization: Bearer $USER_T" -H 'X-Forwarded-Uri: /myfunction/protected/user/a' "$N/myfunction/protected/admin/a")"
else
  fails=$((fails + 1)); echo "FAIL nginx not installed (scripts/install-deps installs it)"
fi
# the forward-auth forms of Traefik (X-Forwarded-*) and Envoy ext_authz (path_prefix), and
# fields naming the original request that disagree (a proxy may pass its client's along)
FA="$G/_gatepass/auth"
fa() { code -H "Authorization: Bearer $USER_T" "$@"; }
check "forward-auth, Traefik's fields: allowed, missing scope" "200 403" \
  "$(fa -H 'X-Forwarded-Method: GET' -H 'X-Forwarded-Uri: /myfunction/protected/user/a' "$FA") $(fa -H 'X-Forwarded-Method: GET' -H 'X-Forwarded-Uri: /myfunction/protected/admin/a' "$FA")"
check "forward-auth, Envoy's form (original path after the endpoint's): allowed, missing scope, no token" "200 403 401" \
  "$(fa "$FA/myfunction/protected/user/a?x=1") $(fa "$FA/myfunction/protected/admin/a") $(code "$FA/myfunction/protected/user/a")"
check "forward-auth: a client's X-Original-URI beside the proxy's X-Forwarded-Uri that disagrees: 400" 400 \
  "$(fa -H 'X-Forwarded-Uri: /myfunction/protected/admin/a' -H 'X-Original-URI: /myfunction/protected/user/a' "$FA")"
check "forward-auth: methods that disagree, a URI field twice with two values, Envoy's path with another URI: 400 each" "400 400 400" \
  "$(fa -H 'X-Forwarded-Method: POST' -H 'X-Original-Method: GET' -H 'X-Original-URI: /myfunction/protected/user/a' "$FA") $(fa -H 'X-Original-URI: /myfunction/protected/user/a' -H 'X-Original-URI: /myfunction/protected/admin/a' "$FA") $(fa -H 'X-Original-URI: /myfunction/protected/user/a' "$FA/myfunction/protected/admin/a")"
check "forward-auth: the same value from both families is one answer" 200 \
  "$(fa -H 'X-Original-Method: GET' -H 'X-Forwarded-Uri: /myfunction/protected/user/a' -H 'X-Original-URI: /myfunction/protected/user/a' "$FA")"
check "CONNECT with a path (a tunnel on 2xx): 400; TRACE (echoes the token): 405" "400 405" \
  "$(code -X CONNECT -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/c") $(code -X TRACE -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/c")"
check "forward-auth, Envoy's form with dots climbing out of the endpoint's path ('/_gatepass/auth/x/../../../public/a'): 400, never proxied" 400 \
  "$(code --path-as-is "$FA/x/../../../public/a")"
check "forward-auth: a URI without a method, a method without a URI: 400 each (never read as GET)" "400 400" \
  "$(fa -H 'X-Original-URI: /myfunction/protected/user/a' "$FA") $(fa -H 'X-Original-Method: GET' "$FA")"
# after a forced rotation, the first forward-auth request with the new kid waits for the one
# shared JWKS refetch, as a proxied request does (the cooldown of the rotation above is over)
sleep 1.2
"$BIN" --config "$W/gatepass.yaml" keys rotate --now >/dev/null 2>&1
FA_T=$("$BIN" --config "$W/gatepass.yaml" token issue --sub alice --scope USER 2>/dev/null)
FA_KID=$(python3 -c 'import base64,json,sys; h=sys.argv[1].split(".")[0]; print(json.loads(base64.urlsafe_b64decode(h+"="*(-len(h)%4)))["kid"])' "$FA_T")
for _ in $(seq 100); do curl -s "http://127.0.0.1:$ISS/.well-known/jwks.json" | grep -q "$FA_KID" && break; sleep 0.1; done
check "forward-auth: a token from a key rotated moments ago, first request: 200" 200 \
  "$(code -H "Authorization: Bearer $FA_T" -H 'X-Forwarded-Method: GET' -H 'X-Forwarded-Uri: /myfunction/protected/user/a' "$FA")"

# ==== keep-alive on the plain listener ======================================================
# Between requests a connection waits holding no request state; these prove it still serves
# the next request: after a proxied response, pipelined, and after an idle pause.
read -r k1 k2 <<<"$(curl -s -o /dev/null -o /dev/null -w '%{http_code}:%{local_port} ' -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/a" "$G/myfunction/protected/user/b")"
check "keep-alive: two proxied requests over one connection" "200 200 same" \
  "${k1%%:*} ${k2%%:*} $([[ -n $k1 && ${k1#*:} == "${k2#*:}" ]] && echo same || echo different)"
check "keep-alive: two pipelined requests, then one after a 1 s pause" "2 1" "$(python3 - "$GW" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(3)
def answers(n):
    data = b""
    try:
        while data.count(b"HTTP/1.1 200") < n:
            chunk = s.recv(65536)
            if not chunk: break
            data += chunk
    except socket.timeout:
        pass
    return data.count(b"HTTP/1.1 200")
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
first = answers(2)
time.sleep(1)
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
print(first, answers(1))
PY
)"
# the deadlines of waiting connections (read_timeout before the first request, idle_timeout
# between requests) on a gateway-only instance with short ones
KGW=$(free_port); SILENT=$(free_port); mkdir -p "$W/ka"
# an upstream that accepts connections and never answers
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64); held = []
while True: held.append(s.accept()[0])' "$SILENT" & PIDS+=($!)
cat > "$W/ka/gatepass.yaml" <<YAML
gateway:
  listen: 127.0.0.1:$KGW
  threads: 1
  access_log: false
  limits: { read_timeout: 1s, idle_timeout: 2s, upstream_timeout: 1s }
  routes:
    - { method: GET, path: "/open/{proxy+}", upstream: "http://127.0.0.1:$UP" }
    - { method: GET, path: "/silent/{proxy+}", upstream: "http://127.0.0.1:$SILENT" }
    - { method: ANY, path: "/any/{proxy+}", upstream: "http://127.0.0.1:$UP" }
YAML
(cd "$W/ka" && exec "$BIN" --config "$W/ka/gatepass.yaml" serve > "$W/ka/serve.log" 2>&1) & KGP=$!; PIDS+=($KGP)
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$KGW/healthz" && break; sleep 0.1; done
# default limits here: a URL over max_url_bytes (8 KiB) in a head under max_header_bytes (16 KiB)
check "URL too long: 414" 414 "$(code "http://127.0.0.1:$KGW/open/$(head -c 9000 /dev/zero | tr '\0' a)")"
check "a URL longer than the whole head limit (100 KiB): 414 too, not 431" 414 \
  "$(code "http://127.0.0.1:$KGW/open/$(head -c 100000 /dev/zero | tr '\0' a)")"
check "URL at the limit still routed" 200 "$(code "http://127.0.0.1:$KGW/open/$(head -c 8000 /dev/zero | tr '\0' a)")"
check "timeouts: silent connection closed after read_timeout, idle one after idle_timeout" "closed closed" "$(python3 - "$KGW" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
def closed_within(s, lo, hi):
    s.settimeout(hi)
    start = time.monotonic()
    try:
        while s.recv(4096):
            pass
    except socket.timeout:
        return "open after %.1fs" % (time.monotonic() - start)
    took = time.monotonic() - start
    return "closed" if took >= lo else "closed early (%.1fs)" % took
silent = socket.create_connection(("127.0.0.1", port))
r1 = closed_within(silent, 0.5, 3.5)
idle = socket.create_connection(("127.0.0.1", port))
idle.sendall(b"GET /open/x HTTP/1.1\r\nHost: x\r\n\r\n")
idle.settimeout(3)
data = b""
while b'"body_bytes"' not in data:
    data += idle.recv(4096)
r2 = closed_within(idle, 1.5, 4.5)
print(r1, r2)
PY
)"
check "timeouts: an upstream that never answers is a 504 after upstream_timeout (1 s)" "504 in time" \
  "$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 10 "http://127.0.0.1:$KGW/silent/x" |
     awk '{ print $1, ($2 >= 0.9 && $2 < 4) ? "in time" : "after " $2 "s" }')"
check "timeouts: a request body that stops arriving is cut after read_timeout (1 s)" "closed" \
  "$(python3 - "$KGW" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /open/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
s.settimeout(6)
start = time.monotonic()
try:
    while s.recv(4096):
        pass
    took = time.monotonic() - start
    print("closed" if 0.5 <= took < 4 else "closed after %.1fs" % took)
except socket.timeout:
    print("still open after 6s")
PY
)"

# ---- message framing and upstream connection reuse (RFC 9112 §6, §9.3; RFC 9110 §9.2.2) ----
A="http://127.0.0.1:$KGW/any"
raw_all() {  # port request → all the gateway sent until it closed (or 3 s of silence), CRLF as |
  python3 - "$@" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(3)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
data = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk: break
        data += chunk
except socket.timeout:
    data += b"(still open)"
sys.stdout.write(data.decode("latin-1").replace("\r\n", "|"))
PY
}
answers() { grep -o 'HTTP/1.1 [0-9]*' <<<"$1" | awk '{ printf "%s%s", (NR > 1 ? " " : ""), $2 }'; }
out=$(raw_all "$KGW" 'POST /any/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\nContent-Length: 44\r\n\r\n0\r\n\r\nGET /any/smuggled HTTP/1.1\r\nHost: x\r\n\r\n')
check "Transfer-Encoding not ending in chunked (with Content-Length): one 400, then closed" 400 "$(answers "$out")"
out=$(raw_all "$KGW" 'POST /any/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\nGET /any/smuggled HTTP/1.1\r\nHost: x\r\n\r\n')
check "Transfer-Encoding: gzip alone: one 400, then closed" 400 "$(answers "$out")"
out=$(raw_all "$KGW" 'POST /any/x HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')
check "Transfer-Encoding from an HTTP/1.0 client: 400" 400 "$(answers "$out")"
out=$(raw_all "$KGW" 'POST /any/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')
check "a malformed chunk from the client: 400 (the client's fault, not a 502)" 400 "$(answers "$out")"
out=$(raw_all "$KGW" 'HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /any/after-head HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
check "HEAD answered by the gateway itself: no body, the next answer follows the head" "200 200" "$(answers "$out")"
rest=${out#*||}
check "... the next answer starts right after the head" "HTTP/1.1 200" "${rest:0:12}"
contains "... and is the next request's" '"path": "/any/after-head"' "$rest"
check "HEAD answered by an upstream that sends a body anyway: 200" 200 "$(curl -s -o /dev/null -w '%{http_code}' -I "$A/head-body")"
sleep 0.6
contains "... the body never reaches the next request" '"path": "/any/after-head-body"' "$(curl -s "$A/after-head-body")"
check "upstream 204 then stray bytes: 204" 204 "$(code "$A/late-204")"
sleep 0.6
contains "... the stray bytes never reach the next request" '"path": "/any/after-204"' "$(curl -s "$A/after-204")"
contains "stray bytes on an idle pooled connection: the answer before them" '"late": true' "$(curl -s "$A/late-extra")"
sleep 0.6
contains "... they never reach the next request (the connection is dropped)" '"path": "/any/after-extra"' "$(curl -s "$A/after-extra")"
contains "an upstream that closes its idle connections: answer" '"closing": true' "$(curl -s "$A/close-after")"
sleep 0.3
contains "... a POST with a body after that goes on a fresh connection" '"body_bytes": 5' "$(curl -s -X POST --data hello "$A/post-after-close")"
curl -s -o /dev/null "$A/warm"
drops=$(curl -s "$A/drop-count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["drops"])')
check "a POST the upstream drops unanswered on a pooled connection: 502" 502 "$(code -X POST "$A/drop")"
check "... and it is not sent again (RFC 9110 §9.2.2)" 1 "$(( $(curl -s "$A/drop-count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["drops"])') - drops ))"
# the upstream sends its pieces 0.4 s apart: passed on as they come, the first arrives about 0.8 s
# before the end (a gateway that buffers the answer delivers them all at once)
check "a streamed answer goes on piece by piece (first piece early, the whole in time)" "early whole" "$(python3 - "$KGW" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
s.sendall(b"GET /any/slow-chunks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data, first = b"", None
while True:
    chunk = s.recv(65536)
    if not chunk: break
    data += chunk
    if first is None and b"one;" in data: first = time.monotonic()
end = time.monotonic()
print("early" if first is not None and end - first >= 0.6 else "late (%s)" % (first and end - first),
      "whole" if b"three" in data and data.startswith(b"HTTP/1.1 200") else "cut: %r" % data[-60:])
PY
)"
out=$(raw_all "$KGW" 'GET /any/chunked HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n')
check "a chunked answer to an HTTP/1.0 client: not chunked, ended by the close" \
  "no chunks|first;second;third|closed" \
  "$( [[ $out == *Transfer-Encoding* ]] && echo -n chunked || echo -n "no chunks"; echo -n "|${out##*||}|"; [[ $out == *"(still open)"* ]] && echo open || echo closed)"
check "Host (RFC 9112 §3.2): missing, twice, invalid, with userinfo: 400 each; HTTP/1.0 without, IPv6 with port, empty: 200" \
  "400 400 400 400 200 200 200" "$(for req in 'GET /healthz HTTP/1.1\r\n\r\n' \
      'GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n' 'GET /healthz HTTP/1.1\r\nHost: a b/c\r\n\r\n' \
      'GET /healthz HTTP/1.1\r\nHost: u@a\r\n\r\n' 'GET /healthz HTTP/1.0\r\n\r\n' \
      'GET /healthz HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: close\r\n\r\n' \
      'GET /healthz HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n'; do
      answers "$(raw_all "$KGW" "$req")"; echo; done | paste -sd' ')"
out=$(raw_all "$KGW" 'GET http://Example.com:80/any/abs/../absolute?x=1 HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n')
contains "absolute-form target (RFC 9112 §3.2.2): routed by its path, normalized, query kept" '"path": "/any/absolute?x=1"' "$out"
check "absolute-form: an empty path is /, a scheme other than http(s) or userinfo is a 400" "404 400 400" \
  "$(for req in 'GET http://example.com?x=1 HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n' \
      'GET ftp://example.com/any/a HTTP/1.1\r\nHost: example.com\r\n\r\n' \
      'GET http://u@example.com/any/a HTTP/1.1\r\nHost: example.com\r\n\r\n'; do
      answers "$(raw_all "$KGW" "$req")"; echo; done | paste -sd' ')"
out=$(raw_all "$KGW" 'GET /any/framed-204 HTTP/1.1\r\nHost: x\r\n\r\nGET /any/after-204-te HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
check "a 204 with Transfer-Encoding from the upstream: passed on without it, the next answer follows" \
  "204 200 no-te" "$(answers "$out") $([[ $out == *Transfer-Encoding* ]] && echo te || echo no-te)"
contains "fields named in a client's Connection fields (any number, any count of tokens) are dropped" \
  '"hop": null' "$(curl -s -H 'Connection: a, b, c, d, e, f, g, h, i' -H 'Connection: X-Hop' -H 'X-Hop: secret' "$A/hop")"
check "fields named in an upstream's Connection field are dropped" "" \
  "$(curl -s -D - -o /dev/null "$A/conn-fields" | grep -i '^x-internal')"
check "one length said twice (\"3, 3\"; two equal fields) goes upstream as one Content-Length: 3" \
  '["3"] 3|["3"] 3' "$(for req in 'POST /any/dup HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\nConnection: close\r\n\r\nabc' \
      'POST /any/dup HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc'; do
      raw_all "$KGW" "$req" | sed 's/^.*||//' | python3 -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps(d["content_length"]), d["body_bytes"])'
    done | paste -sd'|')"
check "two different lengths (\"3, 4\"; two fields 3 and 4): 400 each" "400 400" \
  "$(for req in 'POST /any/dup HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 4\r\n\r\nabcd' \
      'POST /any/dup HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd'; do
      answers "$(raw_all "$KGW" "$req")"; echo; done | paste -sd' ')"
check "an upstream's length said twice reaches the client as one Content-Length: 3" "Content-Length: 3|ok" \
  "$(curl -s -D - "$A/dup-length" | tr -d '\r' | grep -i -e '^content-length' -e '^ok' | paste -sd'|')"
early_answer() {  # port path [MiB] → the status a client uploading 8 MiB gets, and whether within 2.5 s
  python3 - "$@" <<'PY'
import socket, sys, threading, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
size = (int(sys.argv[3]) if len(sys.argv) > 3 else 8) << 20
s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (sys.argv[2], size)).encode())
def upload():
    try:
        block = b"x" * 65536
        for _ in range(size // len(block)):
            s.sendall(block)
            time.sleep(0.002)
    except OSError:
        pass
threading.Thread(target=upload, daemon=True).start()
s.settimeout(8)
start, data = time.monotonic(), b""
try:
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk: break
        data += chunk
except OSError as e:
    data += b" (" + type(e).__name__.encode() + b")"
print(data.split(b"\r\n")[0].decode(errors="replace")[9:12] or repr(data[:40]),
      "in time" if time.monotonic() - start < 2.5 else "late")
PY
}
check "an upstream refusing an upload at once (413, then close): its answer reaches the client" \
  "413 in time" "$(early_answer "$KGW" /any/early-413)"
check "an upstream refusing an upload without reading it (403, open): its answer reaches the client" \
  "403 in time" "$(early_answer "$KGW" /any/early-403)"
check "an upstream refusing an upload after its socket buffers filled (403 while a write waits): its answer reaches the client" \
  "403 in time" "$(early_answer "$KGW" /any/late-403)"
contains "... and the next request gets its own answer" '"path": "/any/after-early"' "$(curl -s "$A/after-early")"
check "a body over max_body_bytes (16 MiB announced, still being sent): the gateway's 413 reaches the client" \
  "413 in time" "$(early_answer "$KGW" /any/big 16)"
check "an upstream answering 200 at once and reading on (full duplex): the whole body still goes" \
  "200 in time|8388608" "$(early_answer "$KGW" /any/early-200)|$(sleep 0.3; curl -s "$A/early-bytes" | python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes"])')"
kill -TERM "$KGP" 2>/dev/null

# ==== limits.max_connections, and the access log ================================================
CGW=$(free_port); mkdir -p "$W/cap"
cat > "$W/cap/gatepass.yaml" <<YAML
gateway:
  listen: 127.0.0.1:$CGW
  threads: 1
  access_log: true
  limits: { max_connections: 2 }
  routes:
    - { method: GET, path: "/open/{proxy+}", upstream: "http://127.0.0.1:$UP" }
YAML
(cd "$W/cap" && exec "$BIN" --config "$W/cap/gatepass.yaml" serve > "$W/cap/serve.log" 2>&1) & CGP=$!; PIDS+=($CGP)
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$CGW/healthz" && break; sleep 0.1; done
check "max_connections 2: a third connection is closed unanswered and counted; after one closes, served" \
  "closed 200 refused=1" "$(python3 - "$CGW" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
time.sleep(0.3)
third = socket.create_connection(("127.0.0.1", port))
third.settimeout(2)
try:
    third.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    state = "answered" if third.recv(100) else "closed"
except OSError:
    state = "closed"
held.pop().close()
time.sleep(1)
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(2)
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk: break
    data += chunk
refused = [l for l in data.decode().splitlines() if l.startswith("gatepass_connections_refused_total ")]
print(state, data[9:12].decode(), "refused=" + (refused[0].split()[1] if refused else "?"))
PY
)"
curl -s -o /dev/null -H "Authorization: Bearer SECRET-HEADER-TOKEN" "http://127.0.0.1:$CGW/open/a?access_token=SECRET-QUERY-TOKEN&x=1"
raw_all "$CGW" 'GET /open/\x01 HTTP/1.1\r\nHost: x\r\n\r\n' >/dev/null
sleep 0.3
check "access log: one JSON line per request, the malformed head's 400 with its reason, no token anywhere" \
  "json 200:/open/a 400:reason no-secret" "$(python3 - "$W/cap/serve.log" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
lines = [l for l in text.splitlines() if l.startswith("{")]
try:
    entries = [json.loads(l) for l in lines]
    kind = "json"
except ValueError:
    kind, entries = "not-json", []
ok = [e for e in entries if e.get("status") == 200 and e.get("path") == "/open/a"]
bad = [e for e in entries if e.get("status") == 400 and e.get("reason")]
print(kind, "200:/open/a" if ok else "no-200", "400:reason" if bad else "no-400",
      "secret" if "SECRET" in text else "no-secret")
PY
)"
kill -TERM "$CGP" 2>/dev/null

# ==== TLS: an HTTPS listener and https upstreams ==========================================
# A throwaway CA and a server certificate for the name localhost (not for 127.0.0.1); a second,
# gateway-only gatepass serving HTTPS with the same issuer; the echo upstream behind TLS.
T="$W/tls"; mkdir -p "$T/ca" "$T/other"
TGW=$(free_port); TUP=$(free_port)
mkca() {  # dir common-name
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=$2" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$1/ca.key" -out "$1/ca.pem" 2>/dev/null
}
mkca "$T/ca" "gatepass e2e CA"
mkca "$T/other" "an unrelated CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
  -keyout "$T/server.key" -out "$T/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' > "$T/ext.cnf"
openssl x509 -req -in "$T/server.csr" -CA "$T/ca/ca.pem" -CAkey "$T/ca/ca.key" -CAcreateserial -days 2 \
  -extfile "$T/ext.cnf" -out "$T/server.pem" 2>/dev/null
check "TLS: test certificate made" 0 "$(openssl verify -CAfile "$T/ca/ca.pem" "$T/server.pem" >/dev/null 2>&1; echo $?)"
python3 - "$ROOT/examples" "$TUP" "$T/server.pem" "$T/server.key" <<'PY' &
import ssl, sys
sys.path.insert(0, sys.argv[1])
from http.server import ThreadingHTTPServer
from echo_upstream import Echo
server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Echo)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[3], sys.argv[4])
server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
PY
PIDS+=($!)
write_tls_config() {  # upstream CA file
  cat > "$T/gatepass.yaml" <<YAML
gateway:
  listen: 127.0.0.1:$TGW
  threads: 1
  access_log: false
  tls: { cert_file: "$T/server.pem", key_file: "$T/server.key" }
  upstream_ca_file: "$1"
  limits: { read_timeout: 2s }
  authorizers:
    jwtAuthorizer: { issuer_url: "http://127.0.0.1:$ISS", audience: [my-audience] }
  routes:
    - { method: GET, path: "/plain/{proxy+}", authorizer: jwtAuthorizer, scopes: [USER], upstream: "http://127.0.0.1:$UP" }
    - { method: GET, path: "/secure/{proxy+}", authorizer: jwtAuthorizer, scopes: [USER], upstream: "https://localhost:$TUP" }
    - { method: GET, path: "/wrongname/{proxy+}", authorizer: jwtAuthorizer, scopes: [USER], upstream: "https://127.0.0.1:$TUP" }
YAML
}
write_tls_config "$T/ca/ca.pem"
(cd "$T" && exec "$BIN" --config "$T/gatepass.yaml" serve > "$T/serve.log" 2>&1) & TGP=$!; PIDS+=($TGP)
S="https://localhost:$TGW"
tcurl() { curl -s --resolve "localhost:$TGW:127.0.0.1" --cacert "$T/ca/ca.pem" "$@"; }
for _ in $(seq 150); do tcurl -f -o /dev/null "$S/readyz" && break; sleep 0.1; done
check "TLS listener: readyz over https" 200 "$(tcurl -o /dev/null -w '%{http_code}' "$S/readyz")"
check "TLS listener: valid token" 200 "$(tcurl -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $USER_T" "$S/plain/a")"
check "TLS listener: no token" 401 "$(tcurl -o /dev/null -w '%{http_code}' "$S/plain/a")"
# two requests, one connection: both transfers leave from the same local port
read -r k1 k2 <<<"$(tcurl -o /dev/null -o /dev/null -w '%{http_code}:%{local_port} ' -H "Authorization: Bearer $USER_T" "$S/plain/a" "$S/plain/b")"
check "TLS listener: keep-alive, two requests over one TLS connection" "200 200 same" \
  "${k1%%:*} ${k2%%:*} $([[ -n $k1 && ${k1#*:} == "${k2#*:}" ]] && echo same || echo different)"
check "TLS listener: a client without the CA refuses it" 000 \
  "$(curl -s --resolve "localhost:$TGW:127.0.0.1" -o /dev/null -w '%{http_code}' "$S/healthz")"
check "TLS listener: TLS 1.1 refused" 000 \
  "$(tcurl --tlsv1.1 --tls-max 1.1 -o /dev/null -w '%{http_code}' "$S/healthz" 2>/dev/null)"
check "TLS listener: plain HTTP gets no HTTP answer" 000 "$(code "http://127.0.0.1:$TGW/healthz")"
# a client that connects and never starts the handshake is cut after read_timeout (2 s)
started=$(date +%s)
timeout 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$TGW; cat <&3 >/dev/null" 2>/dev/null; rc=$?
check "TLS listener: silent client cut by the handshake timeout" "0 yes" \
  "$rc $( (( $(date +%s) - started <= 6 )) && echo yes || echo no)"
body=$(tcurl -H "Authorization: Bearer $USER_T" "$S/secure/a")
contains "https upstream: private CA, SNI and host name verified" '"sub": "alice"' "$body"
check "https upstream: pooled connection reused" 200 "$(tcurl -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $USER_T" "$S/secure/b")"
check "https upstream: certificate not for that host name" 502 "$(tcurl -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $USER_T" "$S/wrongname/a")"
check "https upstream: chunked response streams through TLS both ways" "first;second;third" "$(tcurl -H "Authorization: Bearer $USER_T" "$S/secure/chunked")"
# SIGHUP to a CA that did not sign the upstream's certificate: pooled connections verified
# under the old trust are not reused, the new handshake fails → 502
write_tls_config "$T/other/ca.pem"
kill -HUP "$TGP"
for _ in $(seq 50); do
  [[ $(tcurl -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $USER_T" "$S/secure/a") == 502 ]] && break
  sleep 0.1
done
check "https upstream: wrong CA" 502 "$(tcurl -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $USER_T" "$S/secure/a")"
check "TLS listener still serves after the reload" 200 "$(tcurl -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $USER_T" "$S/plain/a")"
# a renewed listener certificate (new key, same name) is served after SIGHUP without a restart;
# a certificate file that does not load is refused and the running one kept
served_fp() {
  openssl s_client -connect "127.0.0.1:$TGW" -servername localhost </dev/null 2>/dev/null |
    openssl x509 -noout -fingerprint -sha256 2>/dev/null
}
old_fp=$(served_fp)
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
  -keyout "$T/renewed.key" -out "$T/renewed.csr" 2>/dev/null
openssl x509 -req -in "$T/renewed.csr" -CA "$T/ca/ca.pem" -CAkey "$T/ca/ca.key" -CAcreateserial -days 2 \
  -extfile "$T/ext.cnf" -out "$T/renewed.pem" 2>/dev/null
new_fp=$(openssl x509 -in "$T/renewed.pem" -noout -fingerprint -sha256)
cp "$T/renewed.pem" "$T/server.pem"; cp "$T/renewed.key" "$T/server.key"
kill -HUP "$TGP"
for _ in $(seq 50); do [[ $(served_fp) == "$new_fp" ]] && break; sleep 0.1; done
check "TLS listener: renewed certificate served after SIGHUP" "renewed" \
  "$([[ -n $old_fp && $old_fp != "$new_fp" && $(served_fp) == "$new_fp" ]] && echo renewed || echo "old: $old_fp now: $(served_fp)")"
check "TLS listener: a token over the renewed certificate" 200 "$(tcurl -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $USER_T" "$S/plain/a")"
echo "not a certificate" > "$T/server.pem"
kill -HUP "$TGP"
for _ in $(seq 50); do grep -q "gateway.tls.cert_file" "$T/serve.log" && break; sleep 0.1; done
check "TLS listener: an unloadable certificate on SIGHUP is refused, the running one kept" "kept refused" \
  "$([[ $(served_fp) == "$new_fp" ]] && echo kept || echo lost) $(grep -q "reload refused" "$T/serve.log" && echo refused || echo silent)"
kill -TERM "$TGP" 2>/dev/null
# ==== end of TLS ===========================================================================

# SIGTERM with requests in flight: a streamed answer taking 1.2 s finishes whole, one whose
# upstream hangs is still cut at upstream_timeout (1 s here, set by a reload), and new
# connections are no longer accepted
sed -i 's/^  limits: { max_header_bytes: 8192 }$/  limits: { max_header_bytes: 8192, upstream_timeout: 1s }/' "$W/gatepass.yaml"
reloads=$(grep -c "configuration reloaded" "$W/serve.log")
kill -HUP "$GP"
for _ in $(seq 100); do [[ $(grep -c "configuration reloaded" "$W/serve.log") -gt $reloads ]] && break; sleep 0.1; done
curl -s -w ' %{http_code}' -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/slow-chunks" > "$W/inflight.out" &
INFLIGHT=$!
curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $USER_T" "$G/myfunction/protected/user/hang" > "$W/hang.out" &
HANG=$!
sleep 0.3
kill -TERM "$GP"
sleep 0.2
after_term=$(code --max-time 2 "$G/healthz")
wait "$INFLIGHT" "$HANG"
check "SIGTERM: the request in flight finishes whole; a hung upstream is cut at its timeout (504); a new connection is refused" \
  "one;two;three 200 504 000" "$(tr -d '\n' < "$W/inflight.out") $(cat "$W/hang.out") $after_term"
# the drain lasts at most 10 s; a sanitized build takes a while more to exit
for _ in $(seq 150); do kill -0 "$GP" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$GP" 2>/dev/null; then fails=$((fails + 1)); echo "FAIL SIGTERM drain"; else passes=$((passes + 1)); echo "ok   SIGTERM drains and exits"; fi

echo "gateway e2e: $passes passed, $fails failed"
[[ $fails -eq 0 ]] || { echo "--- serve.log"; tail -30 "$W/serve.log"; exit 1; }
