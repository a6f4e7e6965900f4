"""Starting a scan: the one way every face (the CLI, the API, the scheduler) runs one.

1. The face — the parent — creates the run's record, so the run id is its choice and it never
   has to find "its" run afterwards.
2. It starts `python -m runs.worker STORE RUN_ID [--timeout S]`, a child process in a session of
   its own. The child takes the store's scan lock (`runs.store.ScanLock`) and says so on its
   standard output (`locked`), or says `busy` and exits: the parent then removes the run that
   never started and raises `Busy`. The lock belongs to the child: it is released when the child
   ends, however it ends, even if the parent died first.
3. The child executes the pipeline (`runs.pipeline.execute`), recording every stage and its end
   in the run's record; its log goes to `runs/<run_id>/scan.log`.
4. The parent waits with a time limit. The child stops itself at the limit (and records the run
   as failed with that cause); if it does not, the parent kills its process group after a grace
   period and records the cause itself. A child that dies without recording its end (`kill -9`)
   is recorded `interrupted` by the parent, with how it ended and the stage it reached. A scan
   started by a server that dies still ends by itself; if it dies too, its run reads
   `interrupted` (`runs.store.Store.get_run`), its stage kept.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from contract.errors import Busy, TimedOut

from .pipeline import STAGES
from .settings import RunSettings
from .store import Store, now

GRACE_SECONDS = 30.0
Progress = Callable[[str, float], None]      # (stage done, seconds)

# what a finished run's record means for a face
OUTCOMES = ("succeeded", "held", "bad_input", "timeout", "failed", "interrupted")


def outcome(record: dict) -> str:
    """succeeded, held, bad_input (the data or the settings), timeout, failed or interrupted."""
    status = record["status"]
    if status in ("succeeded", "held", "interrupted"):
        return status
    kind = (record.get("error") or {}).get("type")
    if kind in ("DatasetError", "SettingsError"):
        return "bad_input"
    if kind == TimedOut.__name__:
        return "timeout"
    return "failed" if status in ("failed", "damaged") else status


@dataclass
class Scan:
    """A scan running in a child process."""
    store: Store
    run_id: str
    process: subprocess.Popen
    timeout: float | None
    started: float = field(default_factory=time.monotonic)

    def wait(self, progress: Progress | None = None, poll: float = 0.2) -> dict:
        """Wait for the scan to end (calling `progress(stage, seconds)` as stages finish) and
        return its final record. Kills it past its time limit and a grace period."""
        reported: set[str] = set()
        limit = None if self.timeout is None else self.started + self.timeout + GRACE_SECONDS
        while True:
            try:
                self.process.wait(timeout=poll)
                done = True
            except subprocess.TimeoutExpired:
                done = False
            if progress:
                timings = self.store.get_run(self.run_id).get("timings", {})
                for stage in STAGES:
                    if stage in timings and stage not in reported:
                        reported.add(stage)
                        progress(stage, timings[stage])
            if done:
                break
            if limit is not None and time.monotonic() > limit:
                self.kill()
                self._record_end({"type": TimedOut.__name__, "message": str(TimedOut(self.timeout))})
                break
        if self.process.stdout:
            self.process.stdout.close()
        record = self.store.get_run(self.run_id)
        if record["status"] == "interrupted":       # the child died without recording its end: say how
            code = self.process.returncode
            cause = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            self._record_end({"type": "Interrupted", "message": f"the scan process ended ({cause}) "
                                                                "without recording its end"}, "interrupted")
            record = self.store.get_run(self.run_id)
        return record

    def kill(self):
        """Stop the scan now (its whole process group)."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=5)
                return
            except subprocess.TimeoutExpired:
                continue

    def _record_end(self, error: dict, status: str = "failed"):
        """Record the end of a run its child did not end (`failed`: stopped at its limit;
        `interrupted`: its process died), its stage reached kept."""
        record = self.store.get_run(self.run_id)
        if record["status"] in ("running", "interrupted"):
            run = self.store.open_run(self.run_id)
            run.finish(status, error=error)


def start(store: Store, sources: list[str], settings: RunSettings, timeout: float | None = None,
          data_root: str | Path | None = None) -> Scan:
    """Create the run and start its scan in a child process; returns once the child holds the
    store's lock. With `data_root` (a scan asked for over the network), the scan reads nothing
    outside it (`runs.sources.confine`). Raises `Busy` (after removing the unstarted run) if
    another scan holds the lock."""
    run = store.new_run([str(s) for s in sources], settings.model_dump(mode="json"),
                        data_root=str(Path(data_root).resolve()) if data_root else None)
    cmd = [sys.executable, "-m", "runs.worker", str(store.root.resolve()), run.id]
    if timeout is not None:
        cmd += ["--timeout", str(timeout)]
    with open(os.open(run.dir / "scan.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab") as log:
        process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                                   start_new_session=True, text=True)
    scan = Scan(store, run.id, process, timeout)
    first = process.stdout.readline().strip()
    if first.startswith("busy"):
        process.wait()
        process.stdout.close()
        store.discard(run.id)
        held = json.loads(first[4:] or "{}")
        raise Busy(held.get("run_id"), held.get("since"))
    if first != "locked":           # the child could not start: its end (or death) is recorded by wait()
        scan.wait()
    return scan


def run(store: Store, sources: list[str], settings: RunSettings, timeout: float | None = None,
        progress: Progress | None = None, data_root: str | Path | None = None) -> dict:
    """Start a scan and wait for its end; returns the final record. Raises `Busy`."""
    return start(store, sources, settings, timeout, data_root).wait(progress)


__all__ = ["OUTCOMES", "Scan", "now", "outcome", "run", "start"]
