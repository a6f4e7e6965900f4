"""HTTP API load benchmark: analysts with think time, then the same beside one abusive key.

    python benchmarks/api_load.py [--clients 50] [--requests 40] [--think 0.5] [--patients 20000] [--burst 20]
                                  [--neighbourhoods 0.0] [--heavy-calls-per-key N] [--heavy-workers N]

Generates (once, under .bench/) and scans the demo region, starts `fraudnet serve` on a free
loopback port (each client with a key of its own, the server's defaults otherwise: at most 2
heavy calls at once per key, or `--heavy-calls-per-key`), then runs two scenarios and prints, per kind of call, the
requests, throughput, statuses and p50/p95/max latency:

1. **analysts**: `--clients` analysts, each sending `--requests` requests — an entity (50 %),
   an alert list (30 %), one alert (20 %), and with `--neighbourhoods S` a share S of
   neighbourhoods of depth 2 capped at 200 nodes in place of entities — starting at a random
   moment and pausing a random 0.5–1.5 × `--think` seconds between requests, the way
   independent analysts do;
2. **one abusive key**: `--clients` − 1 such analysts, and beside them one key sending `--burst`
   neighbourhood calls of depth 3 capped at 2,000 nodes at once, each resent as soon as it
   returns (429 or not), for as long as the analysts work.

One unmeasured warm-up request per client first (the server opens the run's results and builds
its view of the current run, `runs.results.RunView`, on first use), and before both scenarios
one heavy call per heavy-read worker, so that the workers, started on the first heavy calls,
are running before anything is measured. Bounded: at most clients × requests requests per scenario and a 10-minute limit. Target:
p95 under 100 ms for the analysts' entity and alert calls, in both scenarios. Server and load
generator share the machine's cores: the load average is printed before and after, and the CPU
time the server's process and its heavy-read workers used in each scenario (from /proc), which
other jobs on the machine do not inflate: the server's milliseconds per analyst request say how
many requests a second one core would serve. The server's resident memory is printed at the end.
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
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
KINDS = ("entity", "alert list", "alert", "neighbourhood")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds used so far by process `pid` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory of process `pid` in MB (Linux /proc)."""
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def cpu(server: int) -> tuple[float, float]:
    """CPU seconds of the server's process and of its children (the heavy-read workers)."""
    children = [c for task in Path(f"/proc/{server}/task").iterdir() for c in (task / "children").read_text().split()]
    return cpu_seconds(server), sum(cpu_seconds(int(c)) for c in children)


def url_of(kind: str, ids: dict, rng: random.Random) -> str:
    if kind == "entity":
        return f"/api/v1/entities/provider/{rng.choice(ids['providers'])}"
    if kind == "alert list":
        return f"/api/v1/alerts?limit=20&offset={rng.randrange(5)}"
    if kind == "alert":
        return f"/api/v1/alerts/{quote(rng.choice(ids['alerts']), safe=':')}"
    return f"/api/v1/entities/provider/{rng.choice(ids['providers'])}/neighbourhood?depth=2&max_nodes=200"


async def analyst(base, key, ids, n, think, seed, out, warm_up=False, weights=(0.5, 0.3, 0.2, 0.0)):
    rng = random.Random(seed)          # analysts are not in lockstep: a random start, jittered pauses
    async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": key}, timeout=60) as c:
        if warm_up:
            await c.get(url_of("entity", ids, rng))
            return
        await asyncio.sleep(rng.uniform(0, think))
        for _ in range(n):
            kind = rng.choices(KINDS, weights)[0]
            t = time.perf_counter()
            r = await c.get(url_of(kind, ids, rng))
            out.append((kind, time.perf_counter() - t, r.status_code))
            await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))


async def abuser(base, key, hub, burst, done: asyncio.Event, out):
    url = f"/api/v1/entities/{hub.replace(':', '/', 1)}/neighbourhood?depth=3&max_nodes=2000"
    async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": key}, timeout=120,
                                 limits=httpx.Limits(max_connections=burst)) as c:
        async def one():
            while not done.is_set():
                t = time.perf_counter()
                r = await c.get(url)
                out.append(("abusive neighbourhood", time.perf_counter() - t, r.status_code))
        await asyncio.gather(*(one() for _ in range(burst)))


async def start_workers(base, keys, hub, workers: int):
    """Unmeasured: as many heavy calls at once, from as many keys, as the server has heavy-read
    workers, so that its worker processes (started on the first heavy calls, a second or more of
    CPU each) are running before anything is measured, as on a server in use."""
    url = f"/api/v1/entities/{hub.replace(':', '/', 1)}/neighbourhood?depth=3&max_nodes=2000"

    async def one(key):
        async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": key}, timeout=300) as c:
            await c.get(url)
    await asyncio.gather(*(one(keys[k]) for k in range(workers)))


async def scenario(base, keys, ids, args, abusive: bool):
    out: list = []
    analysts = args.clients - 1 if abusive else args.clients
    await asyncio.gather(*(analyst(base, keys[k], ids, 0, 0, k, out, warm_up=True) for k in range(analysts)))
    done = asyncio.Event()
    t = time.perf_counter()

    async def analysts_then_stop():
        weights = (0.5 - args.neighbourhoods, 0.3, 0.2, args.neighbourhoods)
        await asyncio.gather(*(analyst(base, keys[k], ids, args.requests, args.think, 1000 + k, out, weights=weights)
                               for k in range(analysts)))
        done.set()
    jobs = [analysts_then_stop()]
    if abusive:
        jobs.append(abuser(base, keys[-1], ids["hub"], args.burst, done, out))
    await asyncio.wait_for(asyncio.gather(*jobs), timeout=600)
    return out, time.perf_counter() - t


def report(title: str, out: list, seconds: float, used: tuple[float, float]):
    print(f"\n{title}")
    analysts = sum(1 for k, _, _ in out if k in KINDS)
    print(f"server CPU {used[0]:.1f} s ({1000 * used[0] / analysts:.1f} ms per analyst request), heavy-read "
          f"workers {used[1]:.1f} s, in {seconds:.0f} s")
    print(f"{'kind':<22} {'requests':>8} {'req/s':>6} {'200':>6} {'429':>6} {'other':>6} {'p50 ms':>7} "
          f"{'p95 ms':>7} {'max ms':>7}")
    for kind in KINDS + ("abusive neighbourhood",):
        rows = [(d, s) for k, d, s in out if k == kind]
        if not rows:
            continue
        lat = sorted(d * 1000 for d, _ in rows)
        ok = sum(1 for _, s in rows if s == 200)
        limited = sum(1 for _, s in rows if s == 429)
        print(f"{kind:<22} {len(rows):>8} {len(rows) / seconds:>6.0f} {ok:>6} {limited:>6} "
              f"{len(rows) - ok - limited:>6} {statistics.median(lat):>7.1f} {lat[int(0.95 * (len(lat) - 1))]:>7.1f} "
              f"{lat[-1]:>7.1f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=40, help="requests per analyst")
    ap.add_argument("--think", type=float, default=0.5, help="mean seconds between an analyst's requests")
    ap.add_argument("--patients", type=int, default=20000)
    ap.add_argument("--burst", type=int, default=20, help="neighbourhood calls the abusive key keeps in flight")
    ap.add_argument("--heavy-calls-per-key", type=int, default=None,
                    help="the server's FRAUDNET_HEAVY_CALLS_PER_KEY (default: the server's own, 2); 1000 to see "
                         "the abusive key unlimited")
    ap.add_argument("--heavy-workers", type=int, default=None,
                    help="the server's FRAUDNET_HEAVY_WORKERS (default: the server's own, cores + 1)")
    ap.add_argument("--neighbourhoods", type=float, default=0.0, help="share of the analysts' calls that are "
                                                                     "neighbourhoods (0 to 0.5)")
    args = ap.parse_args()
    from loaders.synthetic import generate
    from runs.pipeline import scan
    from runs.store import Store
    data = ROOT / ".bench" / f"region-{args.patients}-7" / "data"
    if not (data / "claims.csv").exists():
        generate(data, args.patients, 7)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(tmp)
        scan(data, store)
        con = store.connect()
        ids = {"providers": [r[0] for r in con.execute("SELECT entity_id FROM nodes WHERE entity_type = 'provider' "
                                                        "ORDER BY 1").fetchall()],
               "alerts": [r[0] for r in con.execute("SELECT alert_id FROM alerts ORDER BY 1").fetchall()],
               "hub": con.execute("SELECT node_id FROM node_degree ORDER BY degree DESC LIMIT 1").fetchall()[0][0]}
        con.close()
        keys = [secrets.token_urlsafe(24) for _ in range(args.clients)]
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--store", tmp, "--port", str(port)], cwd=ROOT,
            env={**os.environ, "FRAUDNET_API_KEYS": ",".join(f"analyst{i}:analyst:{k}" for i, k in enumerate(keys)),
                 **({"FRAUDNET_HEAVY_CALLS_PER_KEY": str(args.heavy_calls_per_key)}
                    if args.heavy_calls_per_key else {}),
                 **({"FRAUDNET_HEAVY_WORKERS": str(args.heavy_workers)} if args.heavy_workers else {})},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/api/v1/ready").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            workers = args.heavy_workers or (os.cpu_count() or 1) + 1
            asyncio.run(start_workers(base, keys, ids["hub"], min(workers, len(keys))))
            print(f"{args.clients} clients, {args.requests} requests per analyst, think time {args.think} s, "
                  f"heavy calls per key {args.heavy_calls_per_key or 2}, "
                  f"heavy workers {workers}; "
                  f"{os.cpu_count()} cores shared by server and clients; load average before: "
                  f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
            for abusive in (False, True):
                before = cpu(server.pid)
                out, seconds = asyncio.run(scenario(base, keys, ids, args, abusive=abusive))
                used = tuple(b - a for a, b in zip(before, cpu(server.pid)))
                report(f"2. {args.clients - 1} analysts and one abusive key ({args.burst} neighbourhoods of depth 3 "
                       f"in flight, resent at once)" if abusive else f"1. {args.clients} analysts", out, seconds, used)
            print(f"\nserver memory (resident): {rss_mb(server.pid):.0f} MB; "
                  f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:     # its workers still busy with the abusive key's calls
                server.kill()
                server.wait()


if __name__ == "__main__":
    main()
