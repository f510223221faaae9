#!/usr/bin/env python3
"""PyJWT peer for the gatepass interop test (driven by run_interop.sh).

  peer.py sign   ALG PRIVATE_PEM ISS AUD [KID]   -> prints a token
  peer.py verify ALG PUBLIC_PEM ISS AUD TOKEN    -> exit 0 valid, 1 rejected
  peer.py has    ALG                             -> exit 0 when this PyJWT supports ALG
"""
import sys
import time

import jwt


def read(path):
    with open(path, "rb") as f:
        return f.read()


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "has":
        return 0 if args[0] in jwt.algorithms.get_default_algorithms() else 1
    if cmd == "sign":
        alg, key, iss, aud = args[:4]
        kid = args[4] if len(args) > 4 else None
        now = int(time.time())
        claims = {"iss": iss, "aud": aud, "sub": "pyjwt", "scope": "read write",
                  "iat": now, "nbf": now, "exp": now + 600}
        headers = {"kid": kid} if kid else None
        print(jwt.encode(claims, read(key), algorithm=alg, headers=headers))
        return 0
    if cmd == "verify":
        alg, key, iss, aud, token = args
        try:
            claims = jwt.decode(token, read(key), algorithms=[alg], audience=aud, issuer=iss,
                                options={"require": ["exp", "iss", "aud"]})
        except jwt.InvalidTokenError as e:
            print(f"pyjwt: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        print(claims)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
