"""Settings: precedence CLI > env > properties file > default, and one-line validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from kafka_mesos.settings import Settings, SettingsError, env_name, load_settings, parse_duration


def test_defaults_match_mesos_kafka(tmp_path: Path) -> None:
    s = load_settings({}, env={}, cwd=tmp_path)
    assert s == Settings()
    assert s.master == "local"
    assert s.storage == "file:kafka-mesos.json"
    assert s.api == "http://127.0.0.1:7000"
    assert s.framework_name == "kafka"
    assert s.framework_role == "*"
    assert s.framework_timeout == 30 * 86400
    assert s.mesos_content_type == "protobuf"
    assert s.executor_scope == "agent"


def test_precedence_cli_over_env_over_file_over_default(tmp_path: Path) -> None:
    (tmp_path / "kafka-mesos.properties").write_text(
        "# comment\nframework-name=fromfile\nuser=fileuser\nframework-timeout: 1d\napi=http://127.0.0.1:9\n"
    )
    env = {"KM_FRAMEWORK_NAME": "fromenv", "KM_USER": "envuser"}
    s = load_settings({"framework-name": "fromcli", "user": None}, env=env, cwd=tmp_path)
    assert s.framework_name == "fromcli"
    assert s.user == "envuser"
    assert s.framework_timeout == 86400
    assert s.api == "http://127.0.0.1:9"
    assert s.zk is None


def test_explicit_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings({}, env={}, cwd=tmp_path, config_file=tmp_path / "nope.properties")


def test_env_names() -> None:
    assert env_name("framework-timeout") == "KM_FRAMEWORK_TIMEOUT"
    assert env_name("zk") == "KM_ZK"


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("framework-timeout", "3x", "Invalid framework-timeout"),
        ("master", "nohostport", "Invalid master"),
        ("master", "zk://h:2181", "needs a path"),
        ("zk", "host", "Invalid zk"),
        ("storage", "s3:bucket", "Invalid storage"),
        ("storage", "zk:relative", "must start with '/'"),
        ("api", "ftp://x", "Invalid api"),
        ("api", "http://h:port", "bad port"),
        ("mesos-content-type", "xml", "Invalid mesos-content-type"),
        ("executor-scope", "host", "Invalid executor-scope"),
        ("framework-name", "a b", "Invalid framework-name"),
        ("local-agents", "0", "Invalid local-agents"),
        ("reconciliation-attempts", "x", "Invalid reconciliation-attempts"),
        ("debug", "maybe", "Invalid debug"),
    ],
)
def test_bad_values_give_one_line_errors(tmp_path: Path, option: str, value: str, fragment: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({option: value}, env={}, cwd=tmp_path)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_zk_storage_needs_zk(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="needs --zk"):
        load_settings({"storage": "zk:/kafka-mesos"}, env={}, cwd=tmp_path)
    s = load_settings({"storage": "zk:/kafka-mesos", "zk": "127.0.0.1:2181/kafka"}, env={}, cwd=tmp_path)
    assert s.zk == "127.0.0.1:2181/kafka"


def test_bad_value_in_env_names_the_option(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="Invalid framework-timeout"):
        load_settings({}, env={"KM_FRAMEWORK_TIMEOUT": "soon"}, cwd=tmp_path)


def test_masters_accepted(tmp_path: Path) -> None:
    for master in ("local", "127.0.0.1:5050", "h1:5050,h2:5050", "http://127.0.0.1:5050", "zk://h:2181/mesos"):
        assert load_settings({"master": master}, env={}, cwd=tmp_path).master == master


def test_api_port_zero_is_rewritten() -> None:
    s = Settings(api="http://127.0.0.1:0")
    assert s.api_port == 0
    assert s.with_api_port(41234).api == "http://127.0.0.1:41234"
    assert s.listen_host == "127.0.0.1"


def test_durations() -> None:
    assert parse_duration("x", "500ms") == 0.5
    assert parse_duration("x", "10m") == 600
    assert parse_duration("x", "0") == 0
    assert parse_duration("x", "7") == 7


def test_summary_masks_secret() -> None:
    s = Settings(principal="p", secret="hunter2")
    assert "hunter2" not in s.summary()
    assert "secret=*****" in s.summary()
