"""A real Bolt server for the Neo4j tests and the sync benchmark: ArcadeDB with its Neo4j Bolt plugin.

Neo4j 5 cannot be installed from the registries our machines reach; the `arcadedb-embedded` wheel
on PyPI (a test dependency) carries ArcadeDB's server jars and a Java runtime, and its Bolt plugin
answers the official `neo4j` driver. `bolt_server()` starts one on free loopback ports in a
temporary folder and stops it after. `NEO4J_TEST_URI` set in the environment means "use that
server instead" (a real Neo4j 5: docker compose, a laptop), with `NEO4J_TEST_USER`,
`NEO4J_TEST_PASSWORD` and `NEO4J_TEST_DATABASE`: a scratch database, which the tests empty.

    python -m tests.bolt_server      # start one by hand, print its settings, Ctrl-C stops it
"""
from __future__ import annotations

import importlib.util
import os
import secrets
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from publish.neo4j import Neo4jSettings

DATABASE = "fraud"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _package_dir() -> Path:
    spec = importlib.util.find_spec("arcadedb_embedded")
    if spec is None or spec.origin is None:
        raise RuntimeError("the Neo4j tests need a Bolt server: install the test extras "
                           "(`make install-test`, which brings arcadedb-embedded) or set NEO4J_TEST_URI")
    return Path(spec.origin).parent


@contextmanager
def bolt_server(timeout: float = 90.0):
    """Yield `Neo4jSettings` of a running Bolt server (started here unless NEO4J_URI is set)."""
    if os.environ.get("NEO4J_TEST_URI"):
        env = os.environ
        yield Neo4jSettings(env["NEO4J_TEST_URI"], env.get("NEO4J_TEST_USER", "neo4j"),
                            env.get("NEO4J_TEST_PASSWORD", ""), env.get("NEO4J_TEST_DATABASE", "neo4j"))
        return
    pkg = _package_dir()
    password = secrets.token_urlsafe(12)
    bolt, http = _free_port(), _free_port()
    with tempfile.TemporaryDirectory(prefix="fraudnet-bolt-") as root:
        log = open(Path(root) / "server.log", "wb")
        proc = subprocess.Popen(
            [str(pkg / "jre" / "bin" / "java"), "-Xmx1g",
             f"-Darcadedb.server.rootPath={root}", f"-Darcadedb.server.rootPassword={password}",
             f"-Darcadedb.server.defaultDatabases={DATABASE}[root]",
             "-Darcadedb.server.plugins=Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
             "-Darcadedb.bolt.host=127.0.0.1", f"-Darcadedb.bolt.port={bolt}",
             "-Darcadedb.server.httpIncomingHost=127.0.0.1", f"-Darcadedb.server.httpIncomingPort={http}",
             "-cp", str(pkg / "jars" / "*"), "com.arcadedb.server.ArcadeDBServer"],
            cwd=root, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        settings = Neo4jSettings(uri=f"bolt://127.0.0.1:{bolt}", user="root", password=password,
                                 database=DATABASE)
        try:
            _wait(settings, proc, Path(root) / "server.log", timeout)
            yield settings
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


def _wait(settings: Neo4jSettings, proc: subprocess.Popen, log: Path, timeout: float):
    import neo4j
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the Bolt test server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with neo4j.GraphDatabase.driver(settings.uri, auth=(settings.user, settings.password)) as d:
                with d.session(database=settings.database) as s:
                    s.run("RETURN 1").consume()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Bolt test server did not answer in {timeout:.0f} s:\n"
                                   f"{log.read_text()[-3000:]}")
            time.sleep(0.5)


if __name__ == "__main__":
    with bolt_server() as s:
        print(f"NEO4J_URI={s.uri} NEO4J_USER={s.user} NEO4J_PASSWORD={s.password} NEO4J_DATABASE={s.database}")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
