#!/usr/bin/env python3
"""Steady load across key rotations, for scale_e2e.sh and the README's rotation figure.

Every worker takes fresh tokens by client_credentials from each issuer in turn (so a key is used
the moment an issuer signs with it) and sends requests through each gateway in turn. Every
answer other than 200, and every failed token request, is counted. Runs until STOP_FILE exists
or --max-seconds pass, then prints one JSON line.
"""
import argparse
import base64
import http.client
import json
import os
import socket
import threading
import time
import urllib.parse


def kid_of(token):
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--issuers", required=True, help="host:port,host:port")
    ap.add_argument("--gateways", required=True, help="host:port,host:port")
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--scope", default="USER")
    ap.add_argument("--path", default="/myfunction/protected/user/load")
    ap.add_argument("--stop-file", required=True)
    ap.add_argument("--max-seconds", type=float, default=300)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--token-every", type=float, default=0.2, help="seconds between fresh tokens")
    a = ap.parse_args()
    issuers = a.issuers.split(",")
    gateways = a.gateways.split(",")
    basic = base64.b64encode(f"{a.client_id}:{a.secret}".encode()).decode()
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "scope": a.scope})
    lock = threading.Lock()
    totals = {"requests": 0, "failed": 0, "token_requests": 0, "token_failed": 0}
    kids = {}
    errors = []
    deadline = time.monotonic() + a.max_seconds

    def note_error(what):
        with lock:
            if len(errors) < 10:
                errors.append(what)

    def worker(n):
        conns = {}

        def conn(hostport):
            if hostport not in conns:
                host, port = hostport.rsplit(":", 1)
                c = http.client.HTTPConnection(host, int(port), timeout=10)
                c.connect()
                c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms Nagle stalls
                conns[hostport] = c
            return conns[hostport]

        def call(hostport, method, path, body=None, headers=None):
            for attempt in range(2):  # a keep-alive connection the server closed: reconnect once
                c = conn(hostport)
                try:
                    c.request(method, path, body=body, headers=headers or {})
                    r = c.getresponse()
                    return r.status, r.read()
                except (http.client.HTTPException, OSError):
                    c.close()
                    conns.pop(hostport, None)
                    if attempt == 1:
                        raise

        token, token_at, i = None, 0.0, n
        local = {"requests": 0, "failed": 0, "token_requests": 0, "token_failed": 0}
        while time.monotonic() < deadline and not os.path.exists(a.stop_file):
            i += 1
            if token is None or time.monotonic() - token_at >= a.token_every:
                iss = issuers[i % len(issuers)]
                local["token_requests"] += 1
                try:
                    status, body = call(iss, "POST", "/oauth2/token", form, {
                        "Authorization": "Basic " + basic,
                        "Content-Type": "application/x-www-form-urlencoded"})
                except (http.client.HTTPException, OSError) as e:
                    status, body = 0, str(e).encode()
                if status != 200:
                    local["token_failed"] += 1
                    note_error(f"token from {iss}: {status} {body[:200]!r}")
                    time.sleep(0.05)
                    continue
                token, token_at = json.loads(body)["access_token"], time.monotonic()
                k = kid_of(token)
                with lock:
                    kids[k] = kids.get(k, 0) + 1
            gw = gateways[i % len(gateways)]
            local["requests"] += 1
            try:
                status, body = call(gw, "GET", a.path, None, {"Authorization": "Bearer " + token})
            except (http.client.HTTPException, OSError) as e:
                status, body = 0, str(e).encode()
            if status != 200:
                local["failed"] += 1
                note_error(f"gateway {gw} kid {kid_of(token)}: {status} {body[:200]!r}")
        with lock:
            for k, v in local.items():
                totals[k] += v

    def guarded(n):
        # a worker that dies of anything unexpected is a failure with its reason, never lost
        try:
            worker(n)
        except Exception as e:  # noqa: BLE001
            note_error(f"load worker {n} died: {e!r}")
            with lock:
                totals["failed"] += 1

    threads = [threading.Thread(target=guarded, args=(n,)) for n in range(a.workers)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    totals["seconds"] = round(time.monotonic() - started, 1)
    totals["kids"] = kids
    totals["errors"] = errors
    print(json.dumps(totals))


if __name__ == "__main__":
    main()
