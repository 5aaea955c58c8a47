"""deploy/marathon.json is a valid Marathon app and runs a scheduler command our own parser accepts.

The schema fixture `marathon-app-definition.schema.json` is Marathon's published app-definition schema
(mesosphere/marathon, docs/docs/rest-api/public/api/v2/schema/AppDefinition.json at commit e08fb401e8,
the last version before 1.8 moved to RAML types; Apache-2.0). Marathon validates more than its schema says
(AppValidation.scala / SchedulingValidation.scala): those rules are checked by hand below.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kafka_mesos.cli.scheduler_cmd import scheduler_command
from kafka_mesos.settings import OPTIONS, env_name, load_settings

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "deploy" / "marathon.json"
SCHEMA = Path(__file__).with_name("marathon-app-definition.schema.json")
DOCS = ROOT / "docs" / "marathon.md"
# what Marathon exports to the task (a sample agent and port)
TASK_ENV = {"HOST": "agent7.example.com", "PORT0": "31005", "PORT": "31005", "MESOS_SANDBOX": "/sandbox"}


@pytest.fixture(scope="module")
def app() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(APP.read_text())
    return loaded


def test_schema_fixture_is_marathons() -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft4Validator.check_schema(schema)
    assert schema["required"] == ["id"] and schema["additionalProperties"] is False


def test_valid_against_marathon_schema(app: dict[str, Any]) -> None:
    validator = jsonschema.Draft4Validator(json.loads(SCHEMA.read_text()))
    errors = sorted(validator.iter_errors(app), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_schema_catches_what_marathon_refuses(app: dict[str, Any]) -> None:
    """The fixture is not a pushover: unknown fields and bad operators fail."""
    validator = jsonschema.Draft4Validator(json.loads(SCHEMA.read_text()))
    assert list(validator.iter_errors({**app, "replicas": 2}))
    assert list(validator.iter_errors({**app, "constraints": [["hostname", "UNIQUELY"]]}))
    assert list(validator.iter_errors({**app, "args": ["x"]})), "cmd and args together"


def _check_constraint(field: str, operator: str, value: str | None) -> str | None:
    """Marathon's SchedulingValidation rules for one constraint; the error or None."""
    if not field:
        return "empty field"
    if operator == "UNIQUE" and value is not None:
        return "UNIQUE does not accept a value"
    if operator in ("LIKE", "UNLIKE"):
        if not value:
            return "LIKE and UNLIKE require a non-empty, regular expression value"
        re.compile(value)
    if operator == "MAX_PER" and (value is None or not value.isdigit()):
        return "MAX_PER requires an integer value"
    if operator == "GROUP_BY" and value is not None and not value.isdigit():
        return "GROUP BY must define an integer value or else no value at all"
    if operator == "IS" and not value:
        return "IS requires a value"
    return None


def test_marathon_validation_rules(app: dict[str, Any]) -> None:
    assert ("cmd" in app) != ("args" in app)
    assert re.fullmatch(r"(/[a-z0-9]([a-z0-9-.]*[a-z0-9])?)+", app["id"])
    for constraint in app.get("constraints", []):
        assert _check_constraint(*constraint, *([None] * (3 - len(constraint)))) is None, constraint
    ports = app["portDefinitions"]
    assert len({p["name"] for p in ports}) == len(ports), "port names are unique"
    for check in app["healthChecks"]:
        if check["protocol"] in ("HTTP", "HTTPS", "TCP"):
            assert 0 <= check.get("portIndex", 0) < len(ports), "portIndex names one of the app's ports"
        if "path" in check:
            assert check["path"].startswith("/")
    for name, value in app["env"].items():
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) and isinstance(value, str)
    assert all(f["uri"] for f in app["fetch"])


def test_hot_standby_and_never_two_leaders_worth(app: dict[str, Any]) -> None:
    assert app["instances"] >= 2, "one leader and at least one hot standby"
    assert ["hostname", "UNIQUE"] in app["constraints"], "the standby runs on another host"
    strategy = app["upgradeStrategy"]
    assert strategy["maximumOverCapacity"] == 0, "an upgrade never adds a scheduler on top"
    assert strategy["minimumHealthCapacity"] * app["instances"] >= 1, "one scheduler stays up in an upgrade"
    check = app["healthChecks"][0]
    assert check["path"] == "/health" and check["protocol"] == "HTTP"


def _scheduler_args(cmd: str) -> list[str]:
    """The arguments of `./kafka-mesos.sh scheduler ...` after the shell expanded $HOST/$PORT0."""
    steps = [shlex.split(part) for part in cmd.split("&&")]
    runs = [step for step in steps if step and step[0] == "./kafka-mesos.sh"]
    assert len(runs) == 1, f"exactly one ./kafka-mesos.sh in {cmd!r}"
    assert runs[0][1] == "scheduler"
    assert steps[0][:2] == ["cd", "kafka-mesos"], "runs from the extracted release archive"
    saved = dict(os.environ)
    try:
        os.environ.update(TASK_ENV)
        return [os.path.expandvars(arg) for arg in runs[0][2:]]
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_command_parses_with_the_schedulers_own_parser(app: dict[str, Any], tmp_path: Path) -> None:
    args = _scheduler_args(app["cmd"])
    context = scheduler_command.make_context("scheduler", args)
    given = {name.replace("_", "-"): value for name, value in context.params.items() if name != "config"}
    settings = load_settings(given, env={**TASK_ENV, **app["env"]}, cwd=tmp_path)
    assert settings.master.startswith("zk://") and settings.master.endswith("/mesos")
    assert settings.storage == "zk:/kafka-mesos" and settings.zk
    assert settings.api == "http://agent7.example.com:31005"
    assert settings.api_port == 31005 and settings.listen_host == "0.0.0.0"
    assert settings.ha_enabled
    assert settings.framework_role == "kafka" and settings.framework_timeout == 7 * 86400
    assert settings.zk_session_timeout == 10.0
    assert settings.kafka_dist == "../kafka_2.13-3.7.0.tgz"
    assert app["portDefinitions"][0]["port"] == 0, "Marathon assigns the port ($PORT0)"


def test_env_names_are_scheduler_settings(app: dict[str, Any]) -> None:
    known = {env_name(option) for option in OPTIONS}
    assert set(app["env"]) <= known, set(app["env"]) - known


def test_every_setting_has_its_env_variable_documented() -> None:
    text = DOCS.read_text()
    missing = [env_name(option) for option in OPTIONS if env_name(option) not in text]
    assert not missing, f"docs/marathon.md does not list {missing}"


@pytest.mark.parametrize(
    ("variable", "text", "field", "expected"),
    [
        ("KM_HA", "false", "ha", False),
        ("KM_ZK_SESSION_TIMEOUT", "3s", "zk_session_timeout", 3.0),
        ("KM_FRAMEWORK_NAME", "kafka2", "framework_name", "kafka2"),
        ("KM_API", "http://h:7001", "api", "http://h:7001"),
        ("KM_RECONCILE_INTERVAL", "2m", "reconcile_interval", 120.0),
    ],
)
def test_settings_come_from_env(
    variable: str, text: str, field: str, expected: object, tmp_path: Path
) -> None:
    base = {"KM_STORAGE": "zk:/kafka-mesos", "KM_ZK": "zk1:2181", "KM_MASTER": "zk://zk1:2181/mesos"}
    settings = load_settings({}, env={**base, variable: text}, cwd=tmp_path)
    assert getattr(settings, field) == expected


def test_ha_defaults(tmp_path: Path) -> None:
    zk = {"KM_STORAGE": "zk:/km", "KM_ZK": "zk1:2181"}
    assert load_settings({}, env={**zk, "KM_MASTER": "zk://zk1:2181/mesos"}, cwd=tmp_path).ha_enabled
    assert not load_settings({}, env=zk, cwd=tmp_path).ha_enabled, "the embedded local Mesos is not shared"
    assert not load_settings({}, env={}, cwd=tmp_path).ha_enabled, "file storage: one scheduler"
    with pytest.raises(ValueError, match="ZooKeeper storage"):
        load_settings({"ha": "true"}, env={}, cwd=tmp_path)
