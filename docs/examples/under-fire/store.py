#!/usr/bin/env python3
"""The shop's store: a second process the shop consults over TCP for every request, one line each way.

  TAKE  -> "OK <order>" (one unit taken, the order recorded) or "SOLDOUT"
  LIST  -> "ORDERS <order> <order> ..."

A stand-in for the database or cache of a real service, so that a scenario can freeze it (SIGSTOP), cut the shop's
link to it (the fault proxy) or kill it, and watch what the shop does. Writing an order takes --write-ms (5 ms by
default), as a disk would: a race of 40 buyers takes a fifth of a second to answer, long enough to kill the shop in
the middle of it.
"""
import argparse
import socketserver
import threading
import time

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--stock", type=int, default=1_000_000)
parser.add_argument("--write-ms", type=float, default=5, help="how long writing an order takes, as a disk would")
args = parser.parse_args()

lock = threading.Lock()
orders = []


class Store(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            command = line.strip()
            with lock:
                if command == b"TAKE":
                    if len(orders) >= args.stock:
                        reply = "SOLDOUT"
                    else:
                        time.sleep(args.write_ms / 1000)
                        orders.append(len(orders) + 1)
                        reply = f"OK {orders[-1]}"
                elif command == b"LIST":
                    reply = "ORDERS " + " ".join(map(str, orders))
                else:
                    reply = "ERROR unknown command"
            self.wfile.write((reply + "\n").encode())


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    # A race opens many links at once: the default backlog of 5 would drop their SYNs, a second's wait each.
    request_queue_size = 128


with Server(("127.0.0.1", args.port), Store) as server:
    print(f"store listening on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()
