"""Registers and logs in N distinct users against a Turnstile server; prints one access token per line."""
import json
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor

base, count = sys.argv[1], int(sys.argv[2])


def post(path, payload):
    request = urllib.request.Request(
        base + path, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def provision(index):
    credentials = {"email": f"bench{index}@turnstile.test", "password": f"password-{index}"}
    post("/api/v1/auth/register", {**credentials, "username": f"bench{index}"})
    return post("/api/v1/auth/login", credentials)["access_token"]


with ThreadPoolExecutor(max_workers=16) as pool:
    for token in pool.map(provision, range(count)):
        print(token)
