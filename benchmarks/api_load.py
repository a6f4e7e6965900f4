"""HTTP API load benchmark: 50 concurrent clients on the demo dataset, over loopback.

    python benchmarks/api_load.py [--clients 50] [--requests 40] [--think 0.5] [--patients 20000]

Generates (once, under .bench/) and scans the demo region, starts `fraudnet serve` on a free
loopback port, then, for each kind of call — entity, alert list, neighbourhood (depth 2, 200
nodes) — runs `--clients` concurrent clients sending `--requests` requests each, each client
starting at a random moment and pausing a random 0.5–1.5 × `--think` seconds between requests,
the way independent analysts do (0 for a closed loop, which measures saturation throughput), after one unmeasured warm-up request per client (the server
opens the run's results on first use). Prints throughput and p50/p95/max latency per kind. Bounded:
at most clients × requests × 3 requests, and a 10-minute limit per kind. Target: p95 under
100 ms for entity and alert calls.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def url_of(kind: str, ids: list[str], i: int) -> str:
    pid = ids[(i * 7919) % len(ids)]
    return {"entity": f"/api/v1/entities/provider/{pid}",
            "alerts": f"/api/v1/alerts?limit=20&offset={i % 5}",
            "neighbourhood": f"/api/v1/entities/provider/{pid}/neighbourhood?depth=2&max_nodes=200"}[kind]


async def client(base, key, ids, kind, n, think, offset, out):
    rng = random.Random(offset)          # clients are not in lockstep: a random start, jittered pauses
    async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": key}, timeout=30) as c:
        if think:
            await asyncio.sleep(rng.uniform(0, think))
        for i in range(n):
            t = time.perf_counter()
            r = await c.get(url_of(kind, ids, offset + i))
            out.append((time.perf_counter() - t, r.status_code))
            if think:
                await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))


async def run(base, key, ids, kind, clients, n, think):
    out: list = []
    t = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(client(base, key, ids, kind, n, think, k * n, out)
                                            for k in range(clients))), timeout=600)
    return out, time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=40, help="requests of each kind per client")
    ap.add_argument("--think", type=float, default=0.5, help="seconds between a client's requests")
    ap.add_argument("--patients", type=int, default=20000)
    args = ap.parse_args()
    from runs.pipeline import scan
    from runs.store import Store
    from loaders.synthetic import generate
    data = ROOT / ".bench" / f"region-{args.patients}-7" / "data"
    if not (data / "claims.csv").exists():
        generate(data, args.patients, 7)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(tmp)
        scan(data, store)
        con = store.connect()
        ids = [r[0] for r in con.execute("SELECT entity_id FROM nodes WHERE entity_type = 'provider' ORDER BY 1").fetchall()]
        con.close()
        key, port = secrets.token_urlsafe(24), free_port()
        server = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--store", tmp, "--port", str(port)],
                                  cwd=ROOT, env={**os.environ, "FRAUDNET_API_KEYS": f"bench:analyst:{key}"},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    if httpx.get(f"{base}/api/v1/ready").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            print(f"{args.clients} concurrent clients per kind, {args.requests} requests each, think time "
                  f"{args.think} s; {os.cpu_count()} cores shared by server and clients")
            print(f"{'kind':<14} {'requests':>8} {'req/s':>6} {'errors':>6} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}")
            for kind in ("entity", "alerts", "neighbourhood"):
                asyncio.run(run(base, key, ids, kind, args.clients, 1, 0))     # warm-up, not measured
                out, seconds = asyncio.run(run(base, key, ids, kind, args.clients, args.requests, args.think))
                lat = sorted(d * 1000 for d, _ in out)
                errors = sum(1 for _, st in out if st != 200)
                print(f"{kind:<14} {len(lat):>8} {len(lat) / seconds:>6.0f} {errors:>6} {statistics.median(lat):>7.1f} "
                      f"{lat[int(0.95 * (len(lat) - 1))]:>7.1f} {lat[-1]:>7.1f}")
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
