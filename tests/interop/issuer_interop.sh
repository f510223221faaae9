#!/usr/bin/env bash
# Interop of the issuer with real relying parties, over HTTP on an ephemeral port:
#   * Node jose createRemoteJWKSet + jwtVerify, jwks_uri found through the discovery document,
#     verifies a token from /oauth2/token (client_secret_basic);
#   * PyJWT's PyJWKClient (Debian python3-jwt) does too (client_secret_post);
#   * the classic flow: openssl genrsa -out private.key 4096 -> gatepass keys import private.key
#     --kid my-key-id -> gatepass token issue --scope "USER ADMIN" -> Node jsonwebtoken.verify(token,
#     publicPem, {algorithms: ['RS256'], audience, issuer}); the running server picks the imported
#     key up and Node jose / PyJWT verify the same token through the JWKS as well.
# Usage: issuer_interop.sh GATEPASS_BIN      (exit 0 all passed, 1 a check failed, 2 setup failed)
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
NODE=${NODE:-node}
GATEPASS=${1:?usage: issuer_interop.sh GATEPASS_BIN}
GATEPASS=$(cd "$(dirname "$GATEPASS")" && pwd)/$(basename "$GATEPASS")
[[ -x $GATEPASS ]] || { echo "issuer_interop: $GATEPASS is not executable" >&2; exit 2; }

pass=0 fail=0
ok()  { pass=$((pass + 1)); printf 'PASS  %s\n' "$1"; }
bad() { fail=$((fail + 1)); printf 'FAIL  %s\n' "$1"; [[ -n ${2:-} ]] && sed 's/^/      /' <<<"$2"; return 0; }

# Node packages pinned by package-lock.json (shared with run_interop.sh; installed once, under a lock).
if [[ ! -d $HERE/node_modules/jose || ! -d $HERE/node_modules/jsonwebtoken ]]; then
  echo "issuer_interop: npm ci in $HERE"
  (cd "$HERE" && flock "$HERE/package-lock.json" npm ci --no-audit --no-fund --loglevel=error) ||
    { echo "issuer_interop: npm ci failed" >&2; exit 2; }
fi

# PyJWT from Debian's python3-jwt: a python3 that can import it (a pyenv one first on PATH may not).
PYTHON=""
for p in ${PYTHON_JWT:-} python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import jwt, cryptography' 2>/dev/null; then PYTHON=$p; break; fi
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gatepass-issuer-interop.XXXXXX")
SERVE_PID=""
cleanup() {
  if [[ -n $SERVE_PID ]] && kill -0 "$SERVE_PID" 2>/dev/null; then
    kill -TERM "$SERVE_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVE_PID" 2>/dev/null
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
cd "$TMP"

export GATEPASS_PASSPHRASE="issuer interop $$"
unset GATEPASS_CONFIG
AUD=orders-api
CFG=$TMP/gatepass.yaml

# A free port from the kernel (bind to 0), so the issuer URL can name it: jwks_uri and
# token_endpoint in the discovery document must be reachable as published.
free_port() { "$NODE" -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

start_serve() {
  local attempt port
  for attempt in 1 2 3; do
    port=$(free_port) || return 1
    ISS="http://127.0.0.1:$port"
    sed -i -e "s|^  url: .*|  url: $ISS|" -e "s|^  listen: .*|  listen: 127.0.0.1:$port|" "$CFG"
    "$GATEPASS" --config "$CFG" serve --threads 1 >serve.out 2>serve.err &
    SERVE_PID=$!
    for _ in $(seq 100); do
      grep -q ' listening on ' serve.out 2>/dev/null && return 0
      kill -0 "$SERVE_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null; SERVE_PID=""
    echo "issuer_interop: serve on port $port did not start (attempt $attempt):" >&2
    sed 's/^/  /' serve.err >&2
  done
  return 1
}

"$GATEPASS" init --dir "$TMP" --issuer http://127.0.0.1:1 --audience "$AUD" >/dev/null ||
  { echo "issuer_interop: gatepass init failed" >&2; exit 2; }
secret=$("$GATEPASS" --config "$CFG" client add --id interop-client --scopes "USER ADMIN" |
         sed -n 's/^client_secret: *//p')
[[ -n $secret ]] || { echo "issuer_interop: client add printed no secret" >&2; exit 2; }
start_serve || exit 2
echo "== issuer $ISS (serve pid $SERVE_PID)"

# (1) Node jose: discovery -> token endpoint -> createRemoteJWKSet + jwtVerify
if out=$("$NODE" "$HERE/remote_jwks_verify.mjs" flow "$ISS" "$AUD" interop-client "$secret" "USER ADMIN" 2>&1); then
  ok "node jose createRemoteJWKSet + jwtVerify of a /oauth2/token token  [$out]"
else bad "node jose createRemoteJWKSet + jwtVerify of a /oauth2/token token" "$out"; fi

# (2) PyJWT PyJWKClient
if [[ -n $PYTHON ]]; then
  if out=$("$PYTHON" "$HERE/pyjwk_client.py" flow "$ISS" "$AUD" interop-client "$secret" "USER" 2>&1); then
    ok "pyjwt PyJWKClient + jwt.decode of a /oauth2/token token  [$out]"
  else bad "pyjwt PyJWKClient + jwt.decode of a /oauth2/token token" "$out"; fi
else
  bad "pyjwt: no python3 on this machine can import jwt and cryptography (apt-get install python3-jwt python3-cryptography)"
fi

# A wrong secret gets no token (and relying parties see nothing to verify).
code=$(curl -s -o /dev/null -w '%{http_code}' -u "interop-client:wrong" -d grant_type=client_credentials "$ISS/oauth2/token")
if [[ $code == 401 ]]; then ok "wrong client secret -> 401"; else bad "wrong client secret -> HTTP $code, want 401"; fi

# (3) The classic flow, against the same store while serve runs.
if openssl genrsa -out private.key 4096 2>/dev/null && openssl rsa -in private.key -pubout -out public.pem 2>/dev/null; then
  if out=$("$GATEPASS" --config "$CFG" keys import private.key --kid my-key-id 2>&1); then
    ok "gatepass keys import private.key --kid my-key-id  [$out]"
  else bad "gatepass keys import private.key --kid my-key-id" "$out"; fi
  if token=$("$GATEPASS" --config "$CFG" token issue --scope "USER ADMIN" 2>err.txt); then
    kid=$("$NODE" -e 'console.log(JSON.parse(Buffer.from(process.argv[1].split(".")[0],"base64url")).kid)' "$token")
    if [[ $kid == my-key-id ]]; then ok "gatepass token issue signs with the imported key (kid my-key-id)"
    else bad "gatepass token issue: kid $kid, want my-key-id"; fi
    if out=$("$NODE" "$HERE/classic_jsonwebtoken_verify.mjs" public.pem "$ISS" "$AUD" "$token" 2>&1); then
      ok "node jsonwebtoken.verify(token, publicPem, {algorithms: ['RS256'], audience, issuer})  [$out]"
    else bad "node jsonwebtoken.verify of the imported key's token" "$out"; fi
    if out=$("$NODE" "$HERE/classic_jsonwebtoken_verify.mjs" public.pem "$ISS" other-api "$token" 2>&1); then
      bad "node jsonwebtoken accepted the token for another audience" "$out"
    else ok "node jsonwebtoken rejects it for another audience"; fi

    # serve reloads the ring written by the other process: the JWKS now holds my-key-id
    seen=0
    for _ in $(seq 50); do
      curl -sf "$ISS/.well-known/jwks.json" | grep -q '"kid":"my-key-id"' && { seen=1; break; }
      sleep 0.1
    done
    if [[ $seen == 1 ]]; then ok "serve publishes the imported key without a restart"
    else bad "serve's JWKS still lacks my-key-id 5 s after the import" "$(curl -s "$ISS/.well-known/jwks.json")"; fi
    if out=$("$NODE" "$HERE/remote_jwks_verify.mjs" verify "$ISS" "$AUD" "$token" 2>&1); then
      ok "node jose createRemoteJWKSet verifies the imported key's token  [$out]"
    else bad "node jose createRemoteJWKSet on the imported key's token" "$out"; fi
    if out=$("$NODE" "$HERE/remote_jwks_verify.mjs" tampered "$ISS" "$AUD" "$token" 2>&1); then
      ok "node jose rejects the token with an altered payload  [$out]"
    else bad "node jose and a tampered token" "$out"; fi
    if [[ -n $PYTHON ]]; then
      if out=$("$PYTHON" "$HERE/pyjwk_client.py" verify "$ISS" "$AUD" "$token" 2>&1); then
        ok "pyjwt PyJWKClient verifies the imported key's token  [$out]"
      else bad "pyjwt PyJWKClient on the imported key's token" "$out"; fi
    fi
    # and /oauth2/token signs with it too, once every issuer could publish it (2 s after serve
    # published it: issuer/signing_hold.h)
    for _ in $(seq 25); do
      out=$("$NODE" "$HERE/remote_jwks_verify.mjs" flow "$ISS" "$AUD" interop-client "$secret" "ADMIN" 2>&1) &&
        [[ $out == *'"kid":"my-key-id"'* ]] && break
      sleep 0.2
    done
    if [[ $out == *'"kid":"my-key-id"'* ]]; then
      ok "/oauth2/token signs with the imported key, node jose verifies"
    else bad "/oauth2/token after the import (within 5 s)" "$out"; fi
  else
    bad "gatepass token issue --scope \"USER ADMIN\"" "$(cat err.txt)"
  fi
else
  bad "openssl genrsa -out private.key 4096"
fi

# graceful stop
kill -TERM "$SERVE_PID"
rc=124
for _ in $(seq 50); do
  if ! kill -0 "$SERVE_PID" 2>/dev/null; then wait "$SERVE_PID"; rc=$?; SERVE_PID=""; break; fi
  sleep 0.1
done
if [[ $rc == 0 ]]; then ok "serve exits 0 on SIGTERM"; else bad "serve on SIGTERM: exit $rc" "$(cat serve.err)"; fi

echo "issuer_interop: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
