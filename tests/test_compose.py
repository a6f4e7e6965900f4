"""docker-compose.yml: valid against the Compose specification (the schema vendored by
check-jsonschema, offline), and every service wired to commands and options that exist."""
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
    broken.write_text(COMPOSE.read_text().replace("      interval: 5s", "      intervall: 5s"))
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
    assert set(s) == {"neo4j", "demo", "api", "scheduler"}
    assert s["neo4j"]["image"].startswith("neo4j:5") and s["neo4j"]["healthcheck"]["test"]
    assert "neo4j-data:/data" in s["neo4j"]["volumes"] and "neo4j-data" in compose["volumes"]
    assert s["neo4j"]["environment"]["NEO4J_AUTH"].startswith("neo4j/${NEO4J_PASSWORD:?")
    for client in ("demo", "scheduler"):
        env = s[client]["environment"]
        assert env["NEO4J_URI"] == "bolt://neo4j:7687" and env["NEO4J_PASSWORD"].startswith("${NEO4J_PASSWORD:?")
        assert s[client]["depends_on"]["neo4j"]["condition"] == "service_healthy"
    assert s["api"]["depends_on"]["demo"]["condition"] == "service_completed_successfully"
    assert s["api"]["environment"]["FRAUDNET_API_KEYS"].startswith("${FRAUDNET_API_KEYS:?")
    assert ["neo4j", "sync"] == fraudnet_commands(s["demo"])[-1][1:3]
