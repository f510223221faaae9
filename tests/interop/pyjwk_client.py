#!/usr/bin/env python3
"""PyJWT peer for issuer_interop.sh: a relying party that knows only the issuer URL.

  pyjwk_client.py flow ISSUER AUD CLIENT_ID CLIENT_SECRET SCOPE
      discovery document -> token_endpoint (client_secret_post) -> PyJWKClient(jwks_uri)
      -> jwt.decode; prints the verified claims as JSON
  pyjwk_client.py verify ISSUER AUD TOKEN
      verifies TOKEN through the discovery document's jwks_uri with PyJWKClient

Exit 0 on success, 1 otherwise (message on stderr).
"""
import json
import sys
import urllib.parse
import urllib.request

import jwt
from jwt import PyJWKClient


def discover(issuer):
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    with urllib.request.urlopen(url, timeout=10) as res:
        doc = json.load(res)
    if doc.get("issuer") != issuer:
        raise ValueError(f"discovery issuer {doc.get('issuer')!r} is not {issuer!r}")
    if not doc.get("jwks_uri"):
        raise ValueError("discovery document has no jwks_uri")
    return doc


def verify_remote(doc, aud, token, require=("exp", "iat", "iss", "aud", "jti")):
    client = PyJWKClient(doc["jwks_uri"])
    signing_key = client.get_signing_key_from_jwt(token)
    header = jwt.get_unverified_header(token)
    # the algorithm comes from the key, never from the token
    alg = signing_key._jwk_data.get("alg") if hasattr(signing_key, "_jwk_data") else None
    alg = alg or header["alg"]
    claims = jwt.decode(token, signing_key.key, algorithms=[alg], audience=aud, issuer=doc["issuer"],
                        options={"require": list(require)})
    return header, claims


def flow(issuer, aud, client_id, secret, scope):
    doc = discover(issuer)
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "scope": scope,
                                   "client_id": client_id, "client_secret": secret}).encode()
    req = urllib.request.Request(doc["token_endpoint"], data=form, method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=10) as res:
        body = json.load(res)
    if body.get("token_type") != "Bearer":
        raise ValueError(f"token_type {body.get('token_type')!r}")
    header, claims = verify_remote(doc, aud, body["access_token"],
                                   require=("exp", "iat", "iss", "aud", "sub", "jti"))
    if header.get("typ") != "at+jwt":
        raise ValueError(f"typ {header.get('typ')!r}, want at+jwt")
    if claims.get("client_id") != client_id or claims.get("scope") != scope:
        raise ValueError(f"client_id/scope mismatch: {claims}")
    return {"kid": header.get("kid"), "alg": header.get("alg"), **claims}


def verify(issuer, aud, token):
    header, claims = verify_remote(discover(issuer), aud, token)
    return {"kid": header.get("kid"), "alg": header.get("alg"), **claims}


def main(argv):
    try:
        cmd, args = argv[1], argv[2:]
        out = {"flow": flow, "verify": verify}[cmd](*args)
        print(json.dumps(out))
        return 0
    except Exception as e:  # noqa: BLE001 - a peer reports any failure
        print(f"pyjwt: {type(e).__name__}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
