"""docker-compose.yml: valid against the Compose specification (the schema vendored by
check-jsonschema, offline), and every service wired to commands and options that exist."""
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cli.main import main

REPO = Path(__file__).resolve().parent.parent
COMPOSE = REPO / "docker-compose.yml"


def validate(path: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    return subprocess.run([exe, "--builtin-schema", "vendor.compose-spec", str(path)],
                          capture_output=True, text=True)


def test_the_compose_file_follows_the_compose_specification(tmp_path):
    assert validate(COMPOSE).returncode == 0
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text().replace("  interval: 5s", "  intervall: 5s"))
    out = validate(broken)
    assert out.returncode == 1 and "intervall" in out.stdout + out.stderr


def fraudnet_commands(service: dict) -> list[list[str]]:
    cmd = service["command"]
    if cmd[:2] == ["sh", "-c"]:
        return [shlex.split(part) for part in cmd[2].split("&&")]
    return [cmd]


@pytest.mark.parametrize("name", ["demo", "api", "scheduler"])
def test_each_service_runs_real_commands_and_options(name):
    service = yaml.safe_load(COMPOSE.read_text())["services"][name]
    for cmd in fraudnet_commands(service):
        assert cmd[0] == "fraudnet"
        words = [w for w in cmd[1:] if not w.startswith("-")]
        depth = 2 if words[0] in ("schedule", "neo4j") else 1
        help_ = CliRunner().invoke(main, [*words[:depth], "--help"])
        assert help_.exit_code == 0, (name, help_.output)
        for option in (w for w in cmd if w.startswith("--")):
            assert option in help_.output, (name, option)


def test_services_are_wired_together_with_secrets_only_from_the_environment():
    compose = yaml.safe_load(COMPOSE.read_text())
    s = compose["services"]
    assert set(s) == {"neo4j", "api", "scheduler", "demo-neo4j", "demo"}
    for graph in ("neo4j", "demo-neo4j"):
        assert s[graph]["image"] == "neo4j:5.26-community" and s[graph]["healthcheck"]["test"]
        assert s[graph]["environment"]["NEO4J_AUTH"].startswith("neo4j/${NEO4J_PASSWORD:?")
    assert "neo4j-data:/data" in s["neo4j"]["volumes"] and "neo4j-data" in compose["volumes"]
    env = s["scheduler"]["environment"]
    assert env["NEO4J_URI"] == "bolt://neo4j:7687" and env["NEO4J_PASSWORD"].startswith("${NEO4J_PASSWORD:?")
    assert s["scheduler"]["depends_on"]["neo4j"]["condition"] == "service_healthy"
    assert s["api"]["environment"]["FRAUDNET_API_KEYS"].startswith("${FRAUDNET_API_KEYS:?")
    assert ["neo4j", "sync"] == fraudnet_commands(s["demo"])[-1][1:3]


def test_demo_data_never_reaches_the_production_store_or_graph():
    s = yaml.safe_load(COMPOSE.read_text())["services"]
    production = {name for name, service in s.items() if "demo" not in service.get("profiles", [])}
    assert production == {"neo4j", "api", "scheduler"}
    assert s["demo"]["profiles"] == s["demo-neo4j"]["profiles"] == ["demo"]
    assert s["demo"]["environment"]["NEO4J_URI"] == "bolt://demo-neo4j:7687"
    assert s["demo"]["volumes"] == ["demo-store:/store"] and "demo-neo4j-data:/data" in s["demo-neo4j"]["volumes"]
    volumes = lambda name: {v.split(":")[0] for v in s[name].get("volumes", [])}   # noqa: E731
    assert not (volumes("demo") | volumes("demo-neo4j")) & (volumes("api") | volumes("scheduler") | volumes("neo4j"))
    assert not any("demo" in str(s[name].get("depends_on", {})) for name in production)


def test_the_browser_loads_fraudnets_style_and_guide_from_the_api():
    from queries.browser import browser_settings
    s = yaml.safe_load(COMPOSE.read_text())["services"]
    want = browser_settings("http://localhost:8000")      # the API's port on the investigator's machine
    assert s["api"]["ports"] == ["127.0.0.1:8000:8000"]
    for graph in ("neo4j", "demo-neo4j"):
        env = s[graph]["environment"]
        # Neo4j's image maps NEO4J_<setting> to the setting: "." as "_", "_" as "__"
        got = {k[len("NEO4J_"):].replace("__", "\0").replace("_", ".").replace("\0", "_"): v
               for k, v in env.items() if k.startswith("NEO4J_browser_")}
        assert got == want
        assert env["NEO4J_PLUGINS"] == '["graph-data-science"]'


def test_the_image_holds_every_package_and_a_store_its_user_can_write():
    import tomllib
    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    docker = (REPO / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+) \1$", docker, re.M))
    assert copied == {p for p in packages if "." not in p} | {"campaigns"}    # and the example campaigns
    user = re.search(r"^USER (\w+)$", docker, re.M)[1]
    assert f"chown {user}:{user} /store" in docker and "ENV FRAUDNET_STORE=/store" in docker
    assert docker.index(f"chown {user}") < docker.index(f"USER {user}")
