"""A real Neo4j 5.26 Community server (Bolt, HTTP and the Neo4j Browser, with OpenGDS as a
plugin) for the Neo4j and Browser tests, the README's examples and the sync benchmark.

`prepare()` has Maven (`tests/neo4j/pom.xml`) resolve the server's jars from Maven Central into
a cache outside the repository, `~/.cache/fraudnet/neo4j/<version>` (or `FRAUDNET_NEO4J_CACHE`),
once; OpenGDS is added if it resolves. `neo4j_server()` starts the server from those jars with
the server's own entry point (`org.neo4j.server.CommunityEntryPoint`, what `bin/neo4j console`
runs) on free loopback ports in a temporary folder, waits for Bolt, and stops it by its pid
(SIGTERM, a clean shutdown) when the block ends, also on failure. Nothing listens beyond
127.0.0.1 and nothing is sent out (usage reports and telemetry off).

`NEO4J_TEST_URI` set in the environment means "use that server instead" (any Neo4j 5), with
`NEO4J_TEST_USER`, `NEO4J_TEST_PASSWORD`, `NEO4J_TEST_DATABASE`: a scratch database, which the
tests empty; `NEO4J_TEST_BROWSER_URL` is then its Browser (`http://host:7474/browser/`).

    python -m tests.neo4j_server prepare   # resolve the jars (what `make neo4j-test-server` runs)
    python -m tests.neo4j_server           # start one by hand, print its settings; Ctrl-C or kill PID stops it
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from config import Neo4jSettings
from publish.neo4j import driver

VERSION = "5.26.24"          # the Neo4j OpenGDS 2.13.9 was built against; the pom pins the same
POM = Path(__file__).resolve().parent / "neo4j" / "pom.xml"
JVM_FLAGS = [   # Neo4j 5.26's default server.jvm.additional, less AlwaysPreTouch (start-up time)
    "-XX:+UseG1GC", "-XX:-OmitStackTraceInFastThrow", "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields", "-XX:+DisableExplicitGC", "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true", "-Djdk.tls.ephemeralDHKeySize=2048",
    "-Djdk.tls.rejectClientInitiatedRenegotiation=true",
    "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "-Dlog4j2.disable.jmx=true", "-Dfile.encoding=UTF-8"]


class Neo4jServerError(RuntimeError):
    """The jars could not be resolved, or the server did not start; the message says why."""


@dataclass
class Neo4jServer:
    """A running server: its Bolt settings, its HTTP address (the Browser is `browser_url`),
    its pid (None for a server given by NEO4J_TEST_URI), and whether GDS is loaded."""
    settings: Neo4jSettings
    http_url: str | None = None
    pid: int | None = None
    gds: str | None = None
    log: Path | None = None
    config: dict = field(default_factory=dict)

    @property
    def browser_url(self) -> str | None:
        return f"{self.http_url}/browser/" if self.http_url else None


def cache_dir() -> Path:
    root = os.environ.get("FRAUDNET_NEO4J_CACHE") or Path.home() / ".cache" / "fraudnet" / "neo4j"
    return Path(root) / VERSION


def prepare() -> dict:
    """Resolve the jars into `cache_dir()` (once; a `ready.json` records what was laid out) and
    return that record: {"neo4j": version, "gds": version or None, "gds_error": why not}.
    Raises `Neo4jServerError` if Maven or the Neo4j artifacts cannot be had."""
    home = cache_dir()
    ready = home / "ready.json"
    if ready.exists():
        return json.loads(ready.read_text())
    mvn = shutil.which("mvn")
    if mvn is None:
        raise Neo4jServerError("Maven (`mvn`) is needed to fetch Neo4j for the tests: apt-get install -y maven")
    for sub in ("lib", "plugins"):
        shutil.rmtree(home / sub, ignore_errors=True)

    def package(*profile: str) -> subprocess.CompletedProcess:
        cmd = [mvn, "-B", "-q", "-f", str(POM), "package", f"-Dneo4j.home={home}", *profile]
        return subprocess.run(cmd, capture_output=True, text=True)

    record = {"neo4j": VERSION, "gds": None, "gds_error": None}
    done = package("-Pgds")
    if done.returncode == 0:
        record["gds"] = _pom_property("gds.version")
    else:
        record["gds_error"] = (done.stdout + done.stderr)[-2000:]
        shutil.rmtree(home / "plugins", ignore_errors=True)
        done = package()
        if done.returncode != 0:
            raise Neo4jServerError(f"Maven could not resolve Neo4j {VERSION}:\n{(done.stdout + done.stderr)[-3000:]}")
    (home / "plugins").mkdir(parents=True, exist_ok=True)
    ready.write_text(json.dumps(record, indent=1))
    return record


def _pom_property(name: str) -> str:
    import xml.etree.ElementTree as ET
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    return ET.parse(POM).getroot().find(f"m:properties/m:{name}", ns).text


def _java() -> str:
    for home in (os.environ.get("JAVA_HOME"), "/usr/lib/jvm/java-17-openjdk-amd64"):
        if home and (Path(home) / "bin" / "java").exists():
            return str(Path(home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise Neo4jServerError("Java 17 or 21 is needed to run Neo4j 5.26: apt-get install -y openjdk-17-jre-headless")
    return java


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_config(bolt: int, http: int, extra: dict | None = None) -> dict:
    """neo4j.conf for a test server: loopback only, no auth, nothing sent out, GDS allowed."""
    return {
        "server.default_listen_address": "127.0.0.1",
        "server.default_advertised_address": "127.0.0.1",
        "server.bolt.listen_address": f"127.0.0.1:{bolt}",
        "server.bolt.advertised_address": f"127.0.0.1:{bolt}",
        "server.http.enabled": "true",
        "server.http.listen_address": f"127.0.0.1:{http}",
        "server.http.advertised_address": f"127.0.0.1:{http}",
        "server.https.enabled": "false",
        "dbms.security.auth_enabled": "false",          # the server's entry point turns auth on
        "dbms.routing.enabled": "false",                # else a routing connector binds 7688
        "dbms.usage_report.enabled": "false",
        "client.allow_telemetry": "false",
        "server.memory.pagecache.size": "128m",
        "dbms.security.procedures.unrestricted": "gds.*",
        **(extra or {}),
    }


@contextmanager
def neo4j_server(extra_config: dict | None = None, timeout: float = 180.0, heap: str = "1g"):
    """Yield a `Neo4jServer`: the one NEO4J_TEST_URI names, else a new one started here (and
    stopped by its pid when the block ends). `extra_config`: more neo4j.conf settings (e.g. the
    Browser's `browser.post_connect_cmd`)."""
    env = os.environ
    if env.get("NEO4J_TEST_URI"):
        settings = Neo4jSettings(uri=env["NEO4J_TEST_URI"], user=env.get("NEO4J_TEST_USER", "neo4j"),
                                 password=env.get("NEO4J_TEST_PASSWORD", ""),
                                 database=env.get("NEO4J_TEST_DATABASE", "neo4j"))
        browser = env.get("NEO4J_TEST_BROWSER_URL")
        yield Neo4jServer(settings, browser.rstrip("/").removesuffix("/browser") if browser else None,
                          gds=_gds_version(settings))
        return
    record = prepare()
    lib = cache_dir()
    bolt, http = free_port(), free_port()
    # the plugins folder is scanned for procedures (the classpath alone loads GDS's extension
    # but registers none of its procedures)
    config = server_config(bolt, http, {"server.directories.plugins": str(lib / "plugins"), **(extra_config or {})})
    with tempfile.TemporaryDirectory(prefix="fraudnet-neo4j-") as root:
        run = Path(root)
        for sub in ("conf", "data", "logs", "run", "import"):
            (run / sub).mkdir()
        (run / "conf" / "neo4j.conf").write_text("".join(f"{k}={v}\n" for k, v in config.items()))
        log_path = run / "logs" / "console.log"
        log = open(log_path, "wb")
        proc = subprocess.Popen(
            [_java(), "-Xms256m", f"-Xmx{heap}", *JVM_FLAGS,
             "-cp", f"{lib}/plugins/*:{run}/conf/*:{lib}/lib/*",
             "org.neo4j.server.CommunityEntryPoint", f"--home-dir={run}", f"--config-dir={run / 'conf'}",
             "--console-mode"],
            cwd=run, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        settings = Neo4jSettings(uri=f"bolt://127.0.0.1:{bolt}", user="neo4j", password="", database="neo4j")
        try:
            _wait(settings, proc, log_path, timeout)
            yield Neo4jServer(settings, f"http://127.0.0.1:{http}", proc.pid,
                              record["gds"] and _gds_version(settings), log_path, config)
        finally:
            _stop(proc)
            log.close()


def _die_with_parent():
    """In the server's process, before Java starts: SIGTERM it when the process that started it
    dies, however it dies (Linux's PR_SET_PDEATHSIG), so a killed test run leaves no server."""
    if sys.platform.startswith("linux"):
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)      # 1 = PR_SET_PDEATHSIG


def _stop(proc: subprocess.Popen):
    """SIGTERM to the server's pid (Neo4j shuts down cleanly), SIGKILL after 60 s."""
    if proc.poll() is None:
        os.kill(proc.pid, 15)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, 9)
            proc.wait()


def _gds_version(settings: Neo4jSettings) -> str | None:
    import neo4j
    with driver(settings) as d:
        try:
            records, _, _ = d.execute_query("CALL gds.version() YIELD gdsVersion", database_=settings.database)
        except neo4j.exceptions.ClientError:      # an unknown procedure: no GDS on this server
            return None
    return records[0]["gdsVersion"]


def _wait(settings: Neo4jSettings, proc: subprocess.Popen, log: Path, timeout: float):
    import neo4j
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise Neo4jServerError(f"Neo4j exited ({proc.returncode}) while starting:\n{log.read_text()[-3000:]}")
        if "Started." in log.read_text(errors="replace"):
            try:
                with driver(settings) as d:
                    d.verify_connectivity()
                return
            except (neo4j.exceptions.ServiceUnavailable, OSError):
                pass
        if time.monotonic() > deadline:
            raise Neo4jServerError(f"Neo4j did not start in {timeout:.0f} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)


if __name__ == "__main__":
    if sys.argv[1:] == ["prepare"]:
        print(json.dumps({**prepare(), "home": str(cache_dir())}))
        sys.exit(0)
    # SIGTERM (kill PID) and SIGINT (Ctrl-C, also when started in the background, where SIGINT
    # comes ignored) end the block below, so the server is stopped and its folder removed
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with neo4j_server() as s:
        print(f"NEO4J_URI={s.settings.uri} NEO4J_USER={s.settings.user} NEO4J_PASSWORD= "
              f"NEO4J_DATABASE={s.settings.database}  Browser: {s.browser_url}  GDS: {s.gds}  pid {s.pid}",
              flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
