"""The scan process (`python -m runs.worker STORE RUN_ID [--timeout S]`), started by
`runs.launch`: takes the store's lock, tells its parent, executes the run, exits.

Exit codes: 0 succeeded, 4 held by its checks, 2 bad input (data or settings), 3 busy (another
scan holds the lock; the run never started), 5 stopped at its time limit, 1 any other failure.
Files it writes are readable by the service's user only (umask 077).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys

from contract.errors import Busy, FraudnetError, Stopped, TimedOut, trace

EXIT = {"succeeded": 0, "failed": 1, "bad_input": 2, "busy": 3, "held": 4, "timeout": 5, "interrupted": 1}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runs.worker")
    parser.add_argument("store")
    parser.add_argument("run_id")
    parser.add_argument("--timeout", type=float, default=None)
    args = parser.parse_args(argv)
    os.umask(0o077)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from .store import Store          # light: the face waits for `locked` or `busy`, not for the pipeline's imports
    store = Store(args.store)
    try:
        fd = store.lock().acquire(args.run_id)
    except Busy as e:
        print("busy" + json.dumps({"run_id": e.holder, "since": e.since}), flush=True)
        return EXIT["busy"]
    try:
        print("locked", flush=True)
    except BrokenPipeError:          # the face died before reading it: the scan still runs to its end
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    from .launch import outcome       # the pipeline and its libraries (seconds on a loaded machine)
    from .pipeline import execute
    why: list[BaseException] = []      # the time limit or a SIGTERM, once either arrived

    def stop(error: BaseException):
        def handler(*_):
            why.append(error)
            raise error
        return handler
    signal.signal(signal.SIGTERM, stop(Stopped("SIGTERM")))     # the parent stops us: a failure
    try:
        store.clean_leftovers()
        run = store.open_run(args.run_id)
        if args.timeout:
            signal.signal(signal.SIGALRM, stop(TimedOut(args.timeout)))
            signal.setitimer(signal.ITIMER_REAL, args.timeout)
        try:
            record = execute(store, run, stopped=lambda: why[0] if why else None)
        except BaseException as e:       # recorded in the run by execute; said in the log, never its data
            signal.setitimer(signal.ITIMER_REAL, 0)
            record = store.get_run(args.run_id)
            logging.getLogger("fraudnet.scan").error(
                "run %s failed: %s", args.run_id, (record.get("error") or {}).get("message", type(e).__name__)
                + ("" if isinstance(e, FraudnetError) or why else "\n" + trace(e)))
        return EXIT[outcome(record)]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        os.close(fd)


if __name__ == "__main__":
    sys.exit(main())
