#!/usr/bin/env python3
"""A tiny upstream for demos and tests: answers every request with JSON describing what it
received (method, path, the X-Gatepass-* claim headers), so you can see what the gateway
forwards. Usage: echo_upstream.py PORT  (binds 127.0.0.1)."""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    cuts = 0  # requests answered with a cut head (/cut)
    drops = 0  # requests dropped without an answer (/drop)
    early_bytes = 0  # body bytes read after answering (/early-200)
    disable_nagle_algorithm = True  # headers and body leave as two writes: no 40 ms delayed-ACK stall

    def _answer(self):
        if "/chunked" in self.path:
            return self._chunked()
        if "/cut-count" in self.path:
            return self._json({"cut": Echo.cuts})
        if "/cut" in self.path:
            # half a response head, then the connection closes: a gateway must answer 502 and
            # must not send the request again (it reached this upstream once already)
            Echo.cuts += 1
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Le")
            self.wfile.flush()
            self.close_connection = True
            return
        if "/early-hints" in self.path:
            # an interim answer before the final one: the gateway passes it on (RFC 9110 §15.2)
            self.wfile.write(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
            self.wfile.flush()
            return self._json({"final": True})
        if "/switch" in self.path:
            # a protocol switch the gateway never asked for: a bad answer
            self.wfile.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n")
            self.wfile.flush()
            self.close_connection = True
            return
        if "/late-204" in self.path or ("/head-body" in self.path and self.command == "HEAD"):
            # an answer without a body by definition, then (too late to be in the same read) bytes
            # that look like another answer: they must never reach another request
            self.send_response(204 if "/late-204" in self.path else 200)
            self.send_header("Content-Length", "0" if "/late-204" in self.path else "6")
            self.end_headers()
            return self._stray_answer()
        if "/late-extra" in self.path:
            # a complete answer, then stray bytes while the connection idles in a pool
            self._json({"late": True})
            return self._stray_answer()
        if "/framed-204" in self.path:
            # a 204 with framing fields it must not have
            self.send_response(204)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            return
        if "/early-bytes" in self.path:
            return self._json({"bytes": Echo.early_bytes})
        if "/early-200" in self.path:
            # a success answered at once, then the whole body read (full duplex): the gateway
            # must go on sending it
            self._json({"early": True})
            self.wfile.flush()
            length = int(self.headers.get("Content-Length") or 0)
            Echo.early_bytes = len(self.rfile.read(length))
            return
        if "/late-403" in self.path:
            # an upload refused only after a while, its body never read: by then the gateway's
            # writes wait for room (the socket buffers are full), and the refusal must still
            # reach the client before upstream_timeout
            time.sleep(0.6)
            out = b'{"refused": "late"}\n'
            self.send_response(403)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            self.wfile.flush()
            time.sleep(3)
            self.close_connection = True
            return
        if "/early-413" in self.path or "/early-403" in self.path:
            # an upload refused at once, its body unread: 413 then close (the close with unread
            # bytes sends a reset), or 403 with the connection left open and unread for 3 s
            refused = 413 if "/early-413" in self.path else 403
            out = b'{"refused": true}\n'
            self.send_response(refused)
            self.send_header("Content-Length", str(len(out)))
            if refused == 413:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(out)
            self.wfile.flush()
            if refused == 403:
                time.sleep(3)
            self.close_connection = True
            return
        if "/dup-length" in self.path:
            # one length said twice, in a list and in a repeated field (RFC 9110 §8.6)
            self.send_response(200)
            self.send_header("Content-Length", "3, 3")
            self.send_header("Content-Length", "3")
            self.end_headers()
            self.wfile.write(b"ok\n")
            return
        if "/conn-fields" in self.path:
            # a field meant for this hop only, named in Connection: never passed on
            out = b"{}\n"
            self.send_response(200)
            self.send_header("Connection", "X-Internal")
            self.send_header("X-Internal", "secret")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            return
        if "/close-after" in self.path:
            # a complete keep-alive answer, then the upstream closes the idle connection
            self._json({"closing": True})
            self.close_connection = True
            return
        if "/drop-count" in self.path:
            return self._json({"drops": Echo.drops})
        if "/drop" in self.path:
            # the request is processed, then the connection closes without an answer
            Echo.drops += 1
            self.close_connection = True
            return
        if "/hang" in self.path:
            # an answer 3 s late (a stuck backend): the gateway's upstream_timeout decides
            time.sleep(3)
            return self._json({"late": True})
        if "/slow-chunks" in self.path:
            # a streamed answer whose pieces come 0.4 s apart (server-sent events, long polls)
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"one;", b"two;", b"three\n"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.flush()
                time.sleep(0.4)
            self.wfile.write(b"0\r\n\r\n")
            return
        if "/folded" in self.path:
            # a header line folded onto the next (obs-fold): a gateway must not pass it on
            self.send_response(200)
            self.send_header("X-Folded", "one\r\n two")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        lengths = self.headers.get_all("Content-Length") or []
        length = int(lengths[0]) if len(lengths) == 1 and lengths[0].isdigit() else 0
        body = self.rfile.read(length) if length else b""
        out = json.dumps({
            "method": self.command,
            "path": self.path,
            "sub": self.headers.get("X-Gatepass-Sub"),
            "scopes": self.headers.get("X-Gatepass-Scopes"),
            "forwarded_for": self.headers.get("X-Forwarded-For"),
            "expect": self.headers.get("Expect"),
            "hop": self.headers.get("X-Hop"),
            "body_bytes": len(body),
            "content_length": lengths,
            "client_id": self.headers.get("X-Client-Id"),
            "header_names": list(self.headers.keys()),
        }).encode() + b"\n"
        self._send(out)

    def _stray_answer(self):
        # 0.3 s after an answer (too late for the gateway's read of it): bytes that look like an
        # answer to whatever request comes next on the connection
        self.wfile.flush()
        time.sleep(0.3)
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nX-Leak: yes\r\n\r\nLEAKED")
        self.wfile.flush()

    def _json(self, obj):
        self._send(json.dumps(obj).encode() + b"\n")

    def _send(self, out):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
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

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _answer

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Echo).serve_forever()
