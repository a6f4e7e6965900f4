"""Runs every `console` block of the README, in order, in one fresh folder.

A line starting with `$ ` is a command (bash); the lines after it are its expected output. Every
expected line must appear as a line of what the command printed (stdout and stderr): verbatim,
but for `…`, which stands for any text (figures that change from run to run: run ids, seconds);
a line of `…` alone stands for lines left out. Every command must exit 0 (examples of failures
end with `|| echo`).
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, empty_neo4j

# the README's Neo4j examples run against the session's Neo4j server: a `neo4j` tier test (make
# test), so that the everyday tier (make test-fast) starts no server
pytestmark = pytest.mark.neo4j


def console_blocks(text: str) -> list[list[tuple[str, list[str]]]]:
    blocks = []
    for body in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        steps: list[tuple[str, list[str]]] = []
        for line in body.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif steps:
                steps[-1][1].append(line)
        blocks.append(steps)
    return blocks


def test_readme_console_examples_run(tmp_path, neo4j_server):
    blocks = console_blocks((REPO / "README.md").read_text())
    assert len(blocks) >= 2
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "COLUMNS": "200"}
    env.pop("FRAUDNET_STORE", None)
    try:
        neo4j = neo4j_server.settings     # for the Neo4j examples
        empty_neo4j(neo4j)
        env.update(NEO4J_URI=neo4j.uri, NEO4J_USER=neo4j.user, NEO4J_PASSWORD=neo4j.password.get_secret_value(),
                   NEO4J_DATABASE=neo4j.database)
        _run(blocks, tmp_path, env)
    finally:   # a server an example started must not outlive the test
        pid = tmp_path / "serve.pid"
        if pid.exists():
            subprocess.run(["bash", "-c", f"kill $(cat {pid}) 2>/dev/null"], check=False)


def _run(blocks, tmp_path, env):
    missing = []          # every expected line not printed, all told at the end
    for steps in blocks:
        for command, expected in steps:
            done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True,
                                  text=True, timeout=300)
            printed = [line.rstrip() for line in (done.stdout + done.stderr).splitlines()]
            assert done.returncode == 0, f"$ {command}\n{done.stdout}\n{done.stderr}"
            for line in expected:
                if line.strip() in ("", "…"):
                    continue
                pattern = re.compile(".*".join(re.escape(part) for part in line.rstrip().split("…")))
                if not any(pattern.fullmatch(p) for p in printed):
                    missing.append(f"$ {command}\nexpected: {line}\nprinted:\n" + "\n".join(printed))
    assert not missing, f"{len(missing)} expected line(s) not printed:\n\n" + "\n\n".join(missing)
