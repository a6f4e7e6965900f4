"""The Neo4j settings from the environment (config.Neo4jSettings): validated once, every problem at
once, the password never in a repr, a message or a log, a URI always shown without credentials —
in the settings themselves, the CLI and the scheduler. No Neo4j server needed: nothing listens on
port 1 of the loopback interface."""
import logging
import subprocess
import sys

import pytest

from config import Neo4jSettings, safe_uri
from contract.errors import SettingsError

SECRET = "hunter2-Zq8!"
DEAD = "bolt://127.0.0.1:1"


@pytest.fixture
def neo4j_env(monkeypatch):
    for name in ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_settings_come_from_the_environment_and_never_show_the_password(neo4j_env):
    neo4j_env.setenv("NEO4J_URI", "neo4j+s://graph.example.org:7687")
    neo4j_env.setenv("NEO4J_USER", "fraudnet")
    neo4j_env.setenv("NEO4J_PASSWORD", SECRET)
    s = Neo4jSettings.load()
    assert (s.uri, s.user, s.database, s.password.get_secret_value()) == (
        "neo4j+s://graph.example.org:7687", "fraudnet", "neo4j", SECRET)
    for shown in (repr(s), str(s), s.model_dump_json(), str(s.model_dump())):
        assert SECRET not in shown
    # the CLI's options take precedence over the environment; the password stays the environment's
    s = Neo4jSettings.load(uri="bolt://localhost:7688", user=None, database="scratch")
    assert (s.uri, s.user, s.database, s.password.get_secret_value()) == (
        "bolt://localhost:7688", "fraudnet", "scratch", SECRET)
    neo4j_env.delenv("NEO4J_PASSWORD")
    assert Neo4jSettings.load().password.get_secret_value() == ""      # a server without auth


@pytest.mark.parametrize("uri, problem", [
    (None, "NEO4J_URI: not set (e.g. bolt://localhost:7687)"),
    (f"bolt://neo4j:{SECRET}@db.example.org:7687",
     "NEO4J_URI: holds a user or password (bolt://db.example.org:7687): give them in NEO4J_USER and NEO4J_PASSWORD"),
    ("http://db.example.org:7474", "NEO4J_URI: 'http://db.example.org:7474' is not a Neo4j URI (one of bolt, "),
    ("bolt://", "NEO4J_URI: 'bolt://' is not a Neo4j URI"),
    (f"bolt:/neo4j:{SECRET}@db.example.org", "NEO4J_URI: is not a Neo4j URI (one of bolt, "),
])
def test_a_bad_uri_is_refused_with_a_message_that_keeps_the_password_out(neo4j_env, uri, problem):
    if uri:
        neo4j_env.setenv("NEO4J_URI", uri)
    neo4j_env.setenv("NEO4J_PASSWORD", SECRET)
    with pytest.raises(SettingsError) as e:
        Neo4jSettings.load()
    assert e.value.origin == "the Neo4j settings" and len(e.value.problems) == 1
    assert e.value.problems[0].startswith(problem)
    assert SECRET not in str(e.value) and e.value.__cause__ is None and e.value.__context__ is None


@pytest.mark.parametrize("uri", ["bolt://localhost:7687", "bolt+s://db.example.org", "neo4j://10.0.0.5:7687/?policy=eu",
                                 "neo4j+ssc://[::1]:7687"])
def test_ordinary_uris_are_accepted_and_shown_as_they_are(neo4j_env, uri):
    neo4j_env.setenv("NEO4J_URI", uri)
    assert Neo4jSettings.load().shown_uri == uri


def test_safe_uri_drops_only_the_credentials():
    assert safe_uri(f"bolt://neo4j:{SECRET}@db.example.org:7687") == "bolt://db.example.org:7687"
    assert safe_uri("neo4j://user@db.example.org/?a=b@c") == "neo4j://db.example.org/?a=b@c"
    assert safe_uri("bolt://db.example.org:7687") == "bolt://db.example.org:7687"


def fraudnet(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], env={"PATH": "", **env},
                          capture_output=True, text=True)


@pytest.mark.slow
def test_the_cli_refuses_credentials_in_a_uri_and_names_a_dead_server_without_them(region):
    store = str(region["store"].root)
    printed = []
    out = fraudnet("neo4j", "sync", "--store", store, "--uri", f"bolt://neo4j:{SECRET}@127.0.0.1:1",
                   NEO4J_PASSWORD=SECRET)
    assert out.returncode == 2 and "holds a user or password (bolt://127.0.0.1:1)" in out.stderr
    printed.append(out)
    out = fraudnet("neo4j", "sync", "--store", store, NEO4J_URI=DEAD, NEO4J_PASSWORD=SECRET)
    assert out.returncode == 1 and f"cannot reach Neo4j at {DEAD}: ServiceUnavailable" in out.stderr
    printed.append(out)
    for args in (["schema"], ["query", "saved_top_alerts", "-p", "pattern=dense_block", "-p", "limit=1"]):
        out = fraudnet("neo4j", *args, NEO4J_URI=DEAD, NEO4J_PASSWORD=SECRET)
        assert out.returncode == 1 and out.stderr.startswith(f"error: cannot reach Neo4j at {DEAD}: ServiceUnavailable"), out.stderr
        printed.append(out)
    assert not [o for o in printed if SECRET in o.stdout + o.stderr]


def test_the_scheduler_reads_the_settings_once_and_logs_a_failed_sync_without_the_password(region, tmp_path,
                                                                                          neo4j_env, caplog):
    from scheduler.schedule import ScheduleError, load_schedule, publish_neo4j
    path = tmp_path / "schedule.toml"
    path.write_text(f'[[jobs]]\nname = "nightly"\nsource = "{region["data"]}"\ncron = "0 2 * * *"\nneo4j = true\n')
    neo4j_env.setenv("NEO4J_PASSWORD", SECRET)
    neo4j_env.setenv("NEO4J_URI", f"bolt://neo4j:{SECRET}@127.0.0.1:1")
    with pytest.raises(ScheduleError) as e:
        load_schedule(path)
    assert "job(s) nightly sync to Neo4j" in str(e.value) and "(bolt://127.0.0.1:1)" in str(e.value)
    assert SECRET not in str(e.value)
    neo4j_env.setenv("NEO4J_URI", DEAD)
    schedule = load_schedule(path)
    assert schedule.neo4j.uri == DEAD and SECRET not in repr(schedule.neo4j)
    neo4j_env.setenv("NEO4J_URI", "bolt://elsewhere:7687")          # read once: the file's load decided
    assert schedule.neo4j.uri == DEAD
    with caplog.at_level(logging.INFO):
        outcome = publish_neo4j(region["store"], region["run"]["run_id"], schedule.neo4j)
    assert outcome["status"] == "failed" and outcome["error"].startswith(f"Neo4jError: cannot reach Neo4j at {DEAD}")
    assert f"to {DEAD} failed: Neo4jError" in caplog.text
    assert SECRET not in str(outcome) + caplog.text


@pytest.mark.parametrize("variable, value, said", [
    ("FRAUDNET_HEAVY_WORKERS", "99999999999999999999", "less than or equal to 256"),
    ("FRAUDNET_HEAVY_CALLS_PER_KEY", "100000", "less than or equal to 256"),
    ("FRAUDNET_MAX_BODY_BYTES", "99999999999999", "less than or equal to 1073741824"),
    ("FRAUDNET_SCAN_TIMEOUT", "inf", "finite number"),
])
def test_the_server_refuses_an_environment_beyond_its_bounds_naming_the_variable(tmp_path, variable, value, said):
    """A worker count of 10^20 started a server whose every neighbourhood call was a 500
    (OverflowError); the message named the field (`heavy_workers`), not the variable to fix."""
    from click.testing import CliRunner

    from cli.main import main
    out = CliRunner().invoke(main, ["serve", "--store", str(tmp_path)], env={variable: value})
    assert out.exit_code == 2, out.output
    assert f"{variable}: " in out.output and said in out.output, out.output
