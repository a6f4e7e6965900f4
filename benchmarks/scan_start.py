"""How long a face waits to start a scan (`POST /api/v1/runs` answers 202 or 409 after this).

    python benchmarks/scan_start.py [--repeat 5]

`runs.launch.start` returns once the child process says it holds the store's lock (`locked`), or
that another scan does (`busy`, the 409). This prints, over `--repeat` tries each, the median and
the largest wait for both answers, the machine's load average before and after (the wait is
mostly the child's Python start: a loaded machine stretches it; a busy answer also waits the
lock's 1 s grace for readers probing it), and, for comparison, how long
`python -c "import runs.store"` and `import runs.pipeline` take in a fresh process. Each
started scan is stopped at once (its process group killed); the store is a temporary folder.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _import_seconds(module: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT, check=True)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    from contract.errors import Busy
    from runs import launch
    from runs.settings import RunSettings
    from runs.store import Store

    print(f"load average before: {os.getloadavg()[0]:.1f}")
    started, refused = [], []
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "store")
        data = Path(tmp) / "nothing"           # the scan fails at load: only its start is measured
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            scan = launch.start(store, [str(data)], RunSettings())
            started.append(time.perf_counter() - t0)
            scan.kill()
            scan.wait()
            held = store.lock().acquire("bench-holder")         # now a scan meets a held lock
            try:
                t0 = time.perf_counter()
                try:
                    launch.start(store, [str(data)], RunSettings())
                except Busy:
                    refused.append(time.perf_counter() - t0)
            finally:
                os.close(held)
    for label, xs in (("locked (202)", started), ("busy (409)", refused)):
        print(f"{label:<13} median {statistics.median(xs):.2f} s, max {max(xs):.2f} s over {len(xs)}")
    for module in ("runs.store", "runs.pipeline"):
        print(f"python -c 'import {module}': {_import_seconds(module):.2f} s")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
