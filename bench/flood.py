"""Floods a running `turnstile serve` the way issue 13's hostile clients did, from loopback addresses other than
127.0.0.1, and measures what the service holds, how fast /health answers during each flood, and its memory.

    python3 bench/flood.py http://127.0.0.1:PORT PID

Every flood is bounded in count and time and ends by itself; traffic goes to 127.0.0.0/8 only."""
import base64
import json
import os
import socket
import struct
import sys
import time
import urllib.request

base, pid = sys.argv[1], int(sys.argv[2])
host, port = base.split("//")[1].split(":")[0], int(base.rsplit(":", 1)[1])


def rss_mib():
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def handles():
    return len(os.listdir(f"/proc/{pid}/fd"))


def metric(name):
    with urllib.request.urlopen(base + "/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
    return float("nan")


def health_ms(samples=20):
    """The worst of `samples` /health round trips from 127.0.0.1, each on a connection of its own, in ms (a refused
    or hung one counts as 5000)."""
    worst = 0.0
    for _ in range(samples):
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(base + "/health", timeout=5) as response:
                response.read()
            worst = max(worst, (time.perf_counter() - start) * 1000)
        except OSError:
            worst = 5000.0
    return worst


def connect(source, timeout=2):
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect((host, port))
    return s


def ws_handshake(sock, path):
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    reply = b""
    while b"\r\n\r\n" not in reply:
        chunk = sock.recv(4096)
        if not chunk:
            raise OSError("closed during handshake")
        reply += chunk
    return reply.startswith(b"HTTP/1.1 101")


def masked_ping(payload):
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return struct.pack("!BB", 0x89, 0x80 | len(payload)) + mask + body


def post(path, payload, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    request = urllib.request.Request(base + path, data=json.dumps(payload).encode(), headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


rows = []


def row(name, held, health, rss):
    rows.append(f"| {name} | {held} | {health:.1f} | {rss} |")


rss_start = rss_mib()
row("idle", f"{metric('turnstile_connections_open'):.0f} open", health_ms(), f"{rss_start:.0f}")

# 1. 1,100 idle TCP connections from one address: past its share (--max-connections-per-client) they are closed.
idle = []
for _ in range(1100):
    try:
        idle.append(connect("127.0.0.2"))
    except OSError:
        break
time.sleep(0.5)
row(
    "1,100 idle connections from 127.0.0.2",
    f"{metric('turnstile_connections_open'):.0f} open, {metric('turnstile_connections_refused_total'):.0f} refused",
    health_ms(), f"{rss_mib():.0f}")
for s in idle:
    s.close()

# 2. 4,100 WebSocket connect-subscribe-drop loops (no close frame), from another address.
post("/api/v1/auth/register", {"email": "flood@t.io", "username": "flood", "password": "password-1"})
token = post("/api/v1/auth/login", {"email": "flood@t.io", "password": "password-1"})["access_token"]
item = post("/api/v1/items/", {"title": "Lamp", "starting_price_cents": 100, "min_increment_cents": 1}, token)["id"]
start = time.perf_counter()
subscribed = 0
for _ in range(4100):
    try:
        s = connect("127.0.0.3")
        subscribed += ws_handshake(s, f"/api/v1/items/{item}/live")
        s.close()
    except OSError:
        pass
flood_seconds = time.perf_counter() - start
during = health_ms()
time.sleep(1)
row(
    f"4,100 subscribe-and-drop loops in {flood_seconds:.1f} s, then 1 s",
    f"{metric('turnstile_live_subscribers'):.0f} subscribers left, {handles()} handles", during, f"{rss_mib():.0f}")

# 3. One subscriber floods pings (100 MB at most) and never reads a pong.
s = connect("127.0.0.4", timeout=5)
ws_handshake(s, f"/api/v1/items/{item}/live")
frame = masked_ping(b"p" * 125)
sent, closed = 0, False
rss_peak = rss_mib()
while sent < 100 * 1024 * 1024:
    try:
        s.sendall(frame * 512)
        sent += len(frame) * 512
    except OSError:
        closed = True
        break
    if sent % (8 * 1024 * 1024) < len(frame) * 512:
        rss_peak = max(rss_peak, rss_mib())
# Now read what the server sent: pongs until it fell behind, then a close frame with 1008, then the end.
told_slow, ended = False, False
s.settimeout(5)
received = b""
try:
    while len(received) < 256 * 1024 * 1024:
        chunk = s.recv(1 << 20)
        if not chunk:
            ended = True
            break
        received = received[-64:] + chunk
        told_slow = told_slow or b"\x03\xf0slow consumer" in received
except OSError:
    ended = True
s.close()
row(
    f"ping flood: {sent / 1048576:.1f} MB of pings, never reading",
    ("closed with 1008 slow consumer" if told_slow else "no 1008") + (", connection ended" if ended else "")
    + f"; peak {rss_peak:.0f} MiB", health_ms(), f"{rss_mib():.0f} after")

# 4. 200 request bodies trickled a byte every 500 ms: each is cut off at the body deadline.
trickling = []
for index in range(200):
    s = connect("127.0.0.5", timeout=10)
    s.sendall(
        (f"POST /api/v1/auth/register HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
         "Content-Length: 1000\r\n\r\n{").encode())
    trickling.append(s)
start = time.perf_counter()
open_count = len(trickling)
while open_count and time.perf_counter() - start < 20:
    time.sleep(0.5)
    open_count = 0
    for s in trickling:
        try:
            s.sendall(b" ")
            s.setblocking(False)
            data = s.recv(64)
            s.setblocking(True)
            if not data:
                continue
        except BlockingIOError:
            s.setblocking(True)
            open_count += 1
        except OSError:
            continue
row(
    "200 bodies trickled a byte every 0.5 s",
    f"all answered 408 after {time.perf_counter() - start:.1f} s" if open_count == 0 else f"{open_count} still open",
    health_ms(), f"{rss_mib():.0f}")

print("| flood | what the service holds | worst /health of 20 (ms) | RSS (MiB) |")
print("|---|---|---|---|")
print("\n".join(rows))
