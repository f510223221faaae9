#!/usr/bin/env python3
"""A tiny upstream for demos and tests: answers every request with JSON describing what it
received (method, path, the X-Gatepass-* claim headers), so you can see what the gateway
forwards. Usage: echo_upstream.py PORT  (binds 127.0.0.1)."""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave as two writes: no 40 ms delayed-ACK stall

    def _answer(self):
        if "/chunked" in self.path:
            return self._chunked()
        if "/folded" in self.path:
            # a header line folded onto the next (obs-fold): a gateway must not pass it on
            self.send_response(200)
            self.send_header("X-Folded", "one\r\n two")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        out = json.dumps({
            "method": self.command,
            "path": self.path,
            "sub": self.headers.get("X-Gatepass-Sub"),
            "scopes": self.headers.get("X-Gatepass-Scopes"),
            "forwarded_for": self.headers.get("X-Forwarded-For"),
            "body_bytes": len(body),
        }).encode() + b"\n"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def _chunked(self):
        # a streamed response in three chunks, for the gateway's streaming test
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for part in (b"first;", b"second;", b"third\n"):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Echo).serve_forever()
