#!/usr/bin/env python3
"""A small shop that is not Turnstile, for the tutorial "Under fire" in docs/scenarios.md.

  POST /orders  -> 201 {"order": n}, 409 sold out, or 503 when its store does not answer within a second
  GET  /orders  -> 200 {"orders": [...]}, every order the store holds
  GET  /health  -> 200

Every request consults the store (store.py) over a fresh TCP connection. --defect gives it a flaw the tutorial's
scenario catches: "acks-lost-writes" answers 201 when the store is unreachable (an acknowledged order that was
never stored), "hangs" waits for the store without a timeout (requests hang while it is unreachable).
"""
import argparse
import json
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--store", required=True, help="HOST:PORT of the store")
parser.add_argument("--defect", choices=["none", "acks-lost-writes", "hangs"], default="none")
args = parser.parse_args()
store_host, store_port = args.store.rsplit(":", 1)
store_timeout = None if args.defect == "hangs" else 1.0
unstored = 0


def ask_store(command):
    with socket.create_connection((store_host, int(store_port)), timeout=store_timeout) as link:
        link.settimeout(store_timeout)
        link.sendall((command + "\n").encode())
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = link.recv(65536)
            if not chunk:
                raise ConnectionError("the store closed the link")
            reply += chunk
        return reply.decode().split()


class Shop(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # The head and the body go out as two writes: without this, Nagle's algorithm holds the body back for the
        # client's delayed ACK, 40 ms an answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self):
        global unstored
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/orders":
            return self.answer(404, {"error": "no such path"})
        try:
            reply = ask_store("TAKE")
        except OSError:
            if args.defect == "acks-lost-writes":
                unstored += 1
                return self.answer(201, {"order": -unstored})
            return self.answer(503, {"error": "the store is unavailable"})
        if reply[0] == "SOLDOUT":
            return self.answer(409, {"error": "sold out"})
        return self.answer(201, {"order": int(reply[1])})

    def do_GET(self):
        if self.path == "/health":
            return self.answer(200, {"status": "ok"})
        if self.path != "/orders":
            return self.answer(404, {"error": "no such path"})
        try:
            reply = ask_store("LIST")
        except OSError:
            return self.answer(503, {"error": "the store is unavailable"})
        return self.answer(200, {"orders": [int(order) for order in reply[1:]]})

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 503:
            self.send_header("Retry-After", "1")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *arguments):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


with Server(("127.0.0.1", args.port), Shop) as server:
    print(f"shop listening on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()
