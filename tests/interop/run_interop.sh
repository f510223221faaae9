#!/usr/bin/env bash
# Interop with real peers: tokens signed by Node jose / jsonwebtoken and PyJWT must verify with
# gatepass (and tampered ones must not), and tokens signed by gatepass must verify in Node jose and
# PyJWT. Usage: run_interop.sh [--install] GATEPASS_BIN   or   run_interop.sh --install-only
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
NODE=${NODE:-node}

# --install: first (re)install the pinned npm packages from package-lock.json when node_modules is
# missing or older than the lock file (the registry must then be reachable). --install-only: only
# that (the CTest fixture interop_node runs it once for every Node-based interop test). The install
# holds a flock on package-lock.json, as tests/interop/issuer_interop.sh does.
INSTALL=0
case ${1:-} in
  --install) INSTALL=1; shift ;;
  --install-only) INSTALL=2; shift ;;
esac
needs_install() {
  [[ ! -f $HERE/node_modules/.package-lock.json || $HERE/package-lock.json -nt $HERE/node_modules/.package-lock.json ]]
}
if [[ $INSTALL != 0 ]] && needs_install; then
  (
    flock 9
    if needs_install; then
      echo "interop: npm ci in $HERE"
      cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error
    fi
  ) 9<"$HERE/package-lock.json" || { echo "interop: npm ci failed" >&2; exit 2; }
fi
if [[ $INSTALL == 2 ]]; then
  [[ -d $HERE/node_modules/jose && -d $HERE/node_modules/jsonwebtoken ]]; exit
fi
GATEPASS=${1:?usage: run_interop.sh [--install] GATEPASS_BIN | --install-only}
GATEPASS=$(cd "$(dirname "$GATEPASS")" && pwd)/$(basename "$GATEPASS")

# PyJWT comes from Debian's python3-jwt: pick a python3 that can import it (a pyenv or venv
# python3 earlier on PATH usually cannot).
PYTHON=""
for p in ${PYTHON_JWT:-} python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import jwt, cryptography' 2>/dev/null; then PYTHON=$p; break; fi
done

pass=0 fail=0 skip=0
ok()   { pass=$((pass + 1)); printf 'PASS  %s\n' "$1"; }
bad()  { fail=$((fail + 1)); printf 'FAIL  %s\n' "$1"; [[ -n ${2:-} ]] && sed 's/^/      /' <<<"$2"; }
skipped() { skip=$((skip + 1)); printf 'SKIP  %s (%s)\n' "$1" "$2"; }

[[ -x $GATEPASS ]] || { echo "interop: $GATEPASS is not executable" >&2; exit 2; }
[[ -d $HERE/node_modules/jose && -d $HERE/node_modules/jsonwebtoken ]] ||
  { echo "interop: run 'npm ci' in $HERE first" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gatepass-interop.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"

ISS=https://issuer.interop.test
AUD=interop-api

# (a) keys
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null &&
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null &&
  openssl genpkey -algorithm ed25519 -out ed.pem 2>/dev/null || { echo "interop: openssl genpkey failed" >&2; exit 2; }
for k in rsa ec ed; do openssl pkey -in $k.pem -pubout -out $k.pub.pem 2>/dev/null; done
key_for() { case $1 in RS* | PS*) echo rsa ;; ES*) echo ec ;; EdDSA) echo ed ;; esac; }

# gatepass verify TOKEN ALG [extra args]: exit status of `gatepass token verify`, stderr in $err
gp_verify() {
  local token=$1 alg=$2; shift 2
  err=$(printf '%s' "$token" | "$GATEPASS" token verify - --key "$(key_for "$alg").pub.pem" \
        --issuer "$ISS" --audience "$AUD" --alg "$alg" "$@" 2>&1 >/dev/null)
}

# expect_gp NAME TOKEN ALG EXPECTED_EXIT [extra verify args]
expect_gp() {
  local name=$1 token=$2 alg=$3 want=$4; shift 4
  gp_verify "$token" "$alg" "$@"; local rc=$?
  if [[ $rc -eq $want ]]; then ok "$name${err:+  [$err]}"; else bad "$name: exit $rc, want $want" "$err"; fi
}

# (b) peers sign, gatepass verifies
peer_to_gatepass() {
  local signer=$1 alg=$2 token
  shift 2
  if ! token=$("$@" 2>&1); then bad "$signer $alg: peer failed to sign" "$token"; return; fi
  expect_gp "$signer $alg -> gatepass verify" "$token" "$alg" 0
  local tampered
  tampered=$("$NODE" "$HERE/peer.mjs" tamper "$token")
  expect_gp "$signer $alg tampered payload -> gatepass rejects" "$tampered" "$alg" 1
}

echo "== peers sign, gatepass verifies"
for alg in RS256 PS256 ES256 EdDSA; do
  peer_to_gatepass "node jose" $alg "$NODE" "$HERE/peer.mjs" sign jose $alg "$(key_for $alg).pem" "$ISS" "$AUD"
done
for alg in RS256 PS256 ES256; do
  peer_to_gatepass "node jsonwebtoken" $alg "$NODE" "$HERE/peer.mjs" sign jsonwebtoken $alg "$(key_for $alg).pem" "$ISS" "$AUD"
done
if [[ -n $PYTHON ]]; then
  for alg in RS256 PS256 ES256 EdDSA; do
    if [[ $alg == EdDSA ]] && ! "$PYTHON" "$HERE/peer.py" has EdDSA; then skipped "pyjwt EdDSA" "not supported by this PyJWT"; continue; fi
    peer_to_gatepass "pyjwt" $alg "$PYTHON" "$HERE/peer.py" sign $alg "$(key_for $alg).pem" "$ISS" "$AUD"
  done
else
  bad "pyjwt: no python3 on this machine can import jwt and cryptography (apt-get install python3-jwt python3-cryptography)"
fi

# Policy still applies to peer tokens: wrong audience and algorithm confusion are rejected.
token=$("$NODE" "$HERE/peer.mjs" sign jose RS256 rsa.pem "$ISS" other-api)
expect_gp "node jose RS256 for another audience -> gatepass rejects" "$token" RS256 1
token=$("$NODE" "$HERE/peer.mjs" sign jose PS256 rsa.pem "$ISS" "$AUD")
expect_gp "node jose PS256 when only RS256 is allowed -> gatepass rejects" "$token" RS256 1

# (c) gatepass signs, peers verify
echo "== gatepass signs, peers verify"
for alg in RS256 PS256 ES256 EdDSA; do
  if ! token=$("$GATEPASS" token sign --key "$(key_for $alg).pem" --alg $alg --iss "$ISS" --aud "$AUD" \
                 --sub gatepass --scope "read write" --ttl 10m 2>&1); then
    bad "gatepass sign $alg" "$token"; continue
  fi
  if out=$("$NODE" "$HERE/peer.mjs" verify $alg "$(key_for $alg).pub.pem" "$ISS" "$AUD" "$token" 2>&1); then
    ok "gatepass $alg -> node jose jwtVerify"
  else bad "gatepass $alg -> node jose jwtVerify" "$out"; fi
  if [[ -n $PYTHON ]]; then
    if [[ $alg == EdDSA ]] && ! "$PYTHON" "$HERE/peer.py" has EdDSA; then skipped "gatepass EdDSA -> pyjwt" "not supported by this PyJWT"
    elif out=$("$PYTHON" "$HERE/peer.py" verify $alg "$(key_for $alg).pub.pem" "$ISS" "$AUD" "$token" 2>&1); then
      ok "gatepass $alg -> pyjwt decode"
    else bad "gatepass $alg -> pyjwt decode" "$out"; fi
  fi
  tampered=$("$NODE" "$HERE/peer.mjs" tamper "$token")
  if out=$("$NODE" "$HERE/peer.mjs" verify $alg "$(key_for $alg).pub.pem" "$ISS" "$AUD" "$tampered" 2>&1); then
    bad "gatepass $alg tampered -> node jose accepted it" "$out"
  else ok "gatepass $alg tampered -> node jose rejects"; fi
done

# A JWKS exported by Node jose, used by gatepass verify --jwks (kid selects the key).
echo "== JWKS from node jose -> gatepass verify --jwks"
if jwks_out=$("$NODE" "$HERE/peer.mjs" jwks RS256:rsa-1:rsa.pub.pem ES256:ec-1:ec.pub.pem EdDSA:ed-1:ed.pub.pem 2>&1); then
  printf '%s\n' "$jwks_out" >jwks.json
  for spec in RS256:rsa-1 ES256:ec-1 EdDSA:ed-1; do
    alg=${spec%%:*} kid=${spec#*:}
    for signer in jose gatepass; do
      if [[ $signer == jose ]]; then
        token=$("$NODE" "$HERE/peer.mjs" sign jose $alg "$(key_for $alg).pem" "$ISS" "$AUD" "$kid")
      else
        token=$("$GATEPASS" token sign --key "$(key_for $alg).pem" --alg $alg --kid "$kid" --iss "$ISS" --aud "$AUD" --ttl 10m)
      fi
      err=$(printf '%s' "$token" | "$GATEPASS" token verify - --jwks jwks.json --issuer "$ISS" --audience "$AUD" 2>&1 >/dev/null)
      rc=$?
      if [[ $rc -eq 0 ]]; then ok "$signer $alg kid=$kid -> gatepass verify --jwks"; else bad "$signer $alg kid=$kid -> gatepass verify --jwks: exit $rc" "$err"; fi
    done
  done
  # A token whose kid names another key of the set must fail (the key decides the algorithm).
  token=$("$NODE" "$HERE/peer.mjs" sign jose RS256 rsa.pem "$ISS" "$AUD" ec-1)
  err=$(printf '%s' "$token" | "$GATEPASS" token verify - --jwks jwks.json --issuer "$ISS" --audience "$AUD" 2>&1 >/dev/null)
  rc=$?
  if [[ $rc -eq 1 ]]; then ok "node jose RS256 with kid of the EC key -> gatepass rejects  [$err]"; else bad "RS256 with the EC key's kid: exit $rc, want 1" "$err"; fi
else
  bad "node jose exportJWK" "$jwks_out"
fi

echo "interop: $pass passed, $fail failed, $skip skipped"
[[ $fail -eq 0 ]]
