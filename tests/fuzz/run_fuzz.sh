#!/usr/bin/env bash
# Runs the libFuzzer targets with seed corpora made at run time (nothing binary is committed).
# Usage: run_fuzz.sh FUZZ_BUILD_DIR GATEPASS_BIN [SECONDS]   (SECONDS per fuzzer, default 60)
#   FUZZ_BUILD_DIR: a tree configured with -DGATEPASS_FUZZ=ON (holds token_fuzz, jwks_fuzz and
#                   config_fuzz)
#   GATEPASS_BIN:   a gatepass binary, to sign seed tokens
# Seeds: tokens signed by `gatepass token sign` (RS256, PS256, ES256, EdDSA) with keys made here
# and handed to token_fuzz via GATEPASS_FUZZ_KEYS, the tokens and JWKS of ../shared/vectors
# (GATEPASS_VECTORS) when present, and a few hand-written edge cases. The fuzzers run in
# parallel; crash inputs are kept in FUZZ_BUILD_DIR/fuzz-artifacts/.
set -uo pipefail

BUILD=$(cd "${1:?usage: run_fuzz.sh FUZZ_BUILD_DIR GATEPASS_BIN [SECONDS]}" && pwd)
GATEPASS=${2:?usage: run_fuzz.sh FUZZ_BUILD_DIR GATEPASS_BIN [SECONDS]}
SECONDS_EACH=${3:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
VECTORS=${GATEPASS_VECTORS:-$HERE/../../../shared/vectors}
PY=$(command -v python3 || echo /usr/bin/python3)

BIN=$BUILD/tests/fuzz
[[ -d $BIN ]] || BIN=$BUILD
for f in token_fuzz jwks_fuzz config_fuzz; do
  [[ -x $BIN/$f ]] || { echo "run_fuzz: $BIN/$f not built" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gatepass-fuzz.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ART=$BUILD/fuzz-artifacts
mkdir -p "$WORK"/{keys,token-seeds,jwks-seeds,config-seeds,token-corpus,jwks-corpus,config-corpus} "$ART"

# --- token seeds
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/keys/rsa.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/keys/ec.pem" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$WORK/keys/ed.pem" 2>/dev/null
for k in rsa ec ed; do openssl pkey -in "$WORK/keys/$k.pem" -pubout -out "$WORK/keys/$k.pub.pem" 2>/dev/null; done
n=0
for spec in rsa:RS256 rsa:PS256 ec:ES256 ed:EdDSA; do
  k=${spec%%:*} alg=${spec#*:}
  if "$GATEPASS" token sign --key "$WORK/keys/$k.pem" --alg "$alg" --iss https://issuer.example.com \
       --aud api://default --sub fuzz --scope "read write" --ttl 1h >"$WORK/token-seeds/gatepass-$alg" 2>/dev/null; then
    truncate -s -1 "$WORK/token-seeds/gatepass-$alg"  # drop the newline
    n=$((n + 1))
  else
    rm -f "$WORK/token-seeds/gatepass-$alg"
  fi
done
printf '' >"$WORK/token-seeds/empty"
printf 'a.b.c' >"$WORK/token-seeds/abc"
printf 'eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.' >"$WORK/token-seeds/alg-none"
printf 'eyJhbGciOiJIUzI1NiIsImtpZCI6ImhzLTEifQ.e30.AAAA' >"$WORK/token-seeds/hs-kid"
echo "run_fuzz: $n tokens signed by gatepass"

# --- JWKS seeds
cat >"$WORK/jwks-seeds/published" <<'JWKS'
{"keys":[{"kty":"EC","crv":"P-256","kid":"ec-1","use":"sig","alg":"ES256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},{"kty":"OKP","crv":"Ed25519","kid":"ed-1","alg":"EdDSA","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},{"kty":"oct","kid":"hs-1","alg":"HS256","k":"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"}]}
JWKS
printf '{"keys":[]}' >"$WORK/jwks-seeds/empty-set"
printf '{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","kid":1}]}' >"$WORK/jwks-seeds/bad-rsa"

if [[ -d $VECTORS/attacks ]]; then
  if "$PY" - "$VECTORS" "$WORK" <<'PYEOF'
import json, os, sys
vec, work = sys.argv[1], sys.argv[2]
def put(d, name, text):
    with open(os.path.join(work, d, name), "w") as f:
        f.write(text)
a = json.load(open(os.path.join(vec, "attacks/jwt_attack_vectors.json")))
put("jwks-seeds", "attack-jwks", json.dumps(a["jwks"]))
for v in a["vectors"]:
    put("token-seeds", "attack-" + v["id"], v["token"])
b = json.load(open(os.path.join(vec, "attacks/jwks_bad_keys.json")))
for c in b["cases"]:
    if "jwks" in c:
        put("jwks-seeds", "bad-" + c["id"], json.dumps(c["jwks"]))
    elif "jwk" in c:
        put("jwks-seeds", "bad-" + c["id"], json.dumps({"keys": [c["jwk"]]}))
    if "forged_token" in c:
        put("token-seeds", "forged-" + c["id"], c["forged_token"])
PYEOF
  then
    echo "run_fuzz: seeds from $VECTORS added"
  else
    echo "run_fuzz: could not read all seeds from $VECTORS (continuing with what was written)"
  fi
else
  echo "run_fuzz: no vectors at $VECTORS (set GATEPASS_VECTORS); using built-in seeds only"
fi
# --- config seeds: the example config and the shapes the e2e suites use
cp "$HERE/../../examples/gatepass.yaml" "$WORK/config-seeds/example.yaml"
cat >"$WORK/config-seeds/gateway.yaml" <<'YAML'
gateway:
  listen: 127.0.0.1:8080
  admin_listen: 127.0.0.1:9901
  threads: 2
  access_log: false
  limits: { max_header_bytes: 8192, max_body_bytes: 1048576, read_timeout: 1s, upstream_timeout: 30s }
  tls: { cert_file: cert.pem, key_file: key.pem }
  authorizers:
    jwt:
      identity_source: $request.querystring.token
      issuer_url: https://issuer.test
      audience: [a, b]
      algorithms: [RS256, ES256]
      leeway: 30s
      typ: at+jwt
      forward_authorization: false
      claims_to_headers: { X-Tenant: org.id, X-Groups: groups }
  routes:
    - { method: GET, path: "/a/{id}/b/{proxy+}", authorizer: jwt, scopes: [USER], scopes_match: all, upstream: "http://127.0.0.1:9000/base" }
    - { path: $default, upstream: "https://up.test" }
YAML
cat >"$WORK/config-seeds/issuer.yaml" <<'YAML'
issuer: { url: "https://auth.test", audience: [api], token_ttl: 1h, listen: "127.0.0.1:8081", scopes_supported: [USER, ADMIN] }
keys: { store: "postgresql://u@127.0.0.1/db", algorithm: ES256, rsa_bits: 3072, passphrase_env: PASS, rotate_every: 30d, publish_ahead: 2h, retire_after: 1d }
clients:
  - { id: svc, secret_hash: "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA", scopes: [USER], audience: [api] }
YAML
echo "run_fuzz: $(ls "$WORK/token-seeds" | wc -l) token seeds, $(ls "$WORK/jwks-seeds" | wc -l) JWKS seeds, $(ls "$WORK/config-seeds" | wc -l) config seeds; ${SECONDS_EACH}s per fuzzer"

# --- run all three in parallel
run() {
  local name=$1 corpus=$2 seeds=$3
  GATEPASS_FUZZ_KEYS="$WORK/keys" ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$BIN/$name" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
    -print_final_stats=1 -artifact_prefix="$ART/$name-" "$corpus" "$seeds" >"$WORK/$name.log" 2>&1
}
run token_fuzz "$WORK/token-corpus" "$WORK/token-seeds" & tpid=$!
run jwks_fuzz "$WORK/jwks-corpus" "$WORK/jwks-seeds" & jpid=$!
run config_fuzz "$WORK/config-corpus" "$WORK/config-seeds" & cpid=$!
wait $tpid; trc=$?
wait $jpid; jrc=$?
wait $cpid; crc=$?

rc=0
for pair in token_fuzz:$trc jwks_fuzz:$jrc config_fuzz:$crc; do
  name=${pair%%:*} code=${pair#*:}
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$WORK/$name.log" | grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]*' "$WORK/$name.log" | tail -1)
  if [[ $code -eq 0 ]]; then
    echo "PASS  $name: ${runs:-?} runs in ${SECONDS_EACH}s, ${cov:-cov: ?}, corpus $(ls "$WORK/${name%_fuzz}-corpus" | wc -l) inputs"
  else
    rc=1
    echo "FAIL  $name (exit $code); last lines of its log:"
    tail -40 "$WORK/$name.log" | sed 's/^/      /'
    echo "      crash inputs: $(ls "$ART" | grep "^$name-" | tr '\n' ' ')"
  fi
done
exit $rc
