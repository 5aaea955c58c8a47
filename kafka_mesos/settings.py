"""Scheduler settings: one dataclass, read from CLI > env `KM_<NAME>` > `kafka-mesos.properties` > default.

Option names follow mesos/kafka (`--master`, `--zk`, `--storage`, `--api`, `--framework-name`, ...). Every
value arrives as text from one of the sources and is parsed and validated here, so the CLI, the
environment and the properties file all give the same one-line errors.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

PROPERTIES_FILE = "kafka-mesos.properties"
ENV_PREFIX = "KM_"

_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class SettingsError(ValueError):
    """A setting has a bad value; `str()` is the one line shown to the operator."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"Invalid {name}: {message}")
        self.name = name


def parse_duration(name: str, text: str) -> float:
    """`30d`, `10m`, `5s`, `500ms`, bare `0` → seconds (a bare number means seconds)."""
    m = _DURATION.match(text)
    if m is None:
        raise SettingsError(name, f"{text!r} is not a duration (examples: 30d, 10m, 5s, 500ms)")
    return int(m.group(1)) * _UNIT_SECONDS[m.group(2) or "s"]


def _positive_int(name: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(name, f"{text!r} is not an integer") from None
    if value < 1:
        raise SettingsError(name, f"{text!r} must be at least 1")
    return value


def _non_negative_float(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(name, f"{text!r} is not a number") from None
    if not value >= 0:
        raise SettingsError(name, f"{text!r} must not be negative")
    return value


def _check_master(name: str, text: str) -> str:
    if text == "local" or text.startswith(("zk://", "http://", "https://")):
        if text.startswith("zk://") and "/" not in text[len("zk://"):]:
            raise SettingsError(name, f"{text!r}: a zk:// master needs a path, e.g. zk://host:2181/mesos")
        return text
    for part in text.split(","):
        host, sep, port = part.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise SettingsError(name, f"{text!r} (expected local, HOST:PORT[,HOST:PORT], http://HOST:PORT "
                                      "or zk://HOST:PORT/mesos)")
    return text


def _check_zk(name: str, text: str) -> str:
    hosts, _, chroot = text.partition("/")
    for part in hosts.split(","):
        host, sep, port = part.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise SettingsError(name, f"{text!r} (expected HOST:PORT[,HOST:PORT][/chroot])")
    if chroot.endswith("/"):
        raise SettingsError(name, f"{text!r}: the chroot must not end with '/'")
    return text


def _check_storage(name: str, text: str) -> str:
    kind, sep, where = text.partition(":")
    if not sep or kind not in ("file", "zk") or not where:
        raise SettingsError(name, f"{text!r} (expected file:PATH or zk:/PATH)")
    if kind == "zk" and not where.startswith("/"):
        raise SettingsError(name, f"{text!r}: the zk path must start with '/'")
    return text


def _check_api(name: str, text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(name, f"{text!r} (expected a URL like http://HOST:7000)")
    try:
        parts.port  # noqa: B018  (raises on a non-numeric port)
    except ValueError:
        raise SettingsError(name, f"{text!r}: bad port") from None
    return text.rstrip("/")


def _check_user_password(name: str, text: str) -> str:
    user, sep, password = text.partition(":")
    if not sep or not user or not password:  # the value itself is a secret: not in the message
        raise SettingsError(name, "expected USER:PASSWORD (both non-empty)")
    return text


def _one_of(*choices: str) -> Callable[[str, str], str]:
    """A parser that accepts exactly one of `choices`."""

    def check(name: str, text: str) -> str:
        if text not in choices:
            raise SettingsError(name, f"{text!r} (expected {' or '.join(choices)})")
        return text

    return check


def _check_name(name: str, text: str) -> str:
    if not text or not re.fullmatch(r"[A-Za-z0-9_.-]+", text):
        raise SettingsError(name, f"{text!r} (letters, digits, '.', '_' and '-' only)")
    return text


def _check_bool(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off", ""):
        return False
    raise SettingsError(name, f"{text!r} (expected true or false)")


def _text(name: str, text: str) -> str:
    return text


_Parser = Callable[[str, str], Any]


@dataclass(frozen=True)
class Settings:
    """Every scheduler option. Durations are seconds."""

    master: str = "local"
    zk: str | None = None
    storage: str = "file:kafka-mesos.json"
    api: str = "http://127.0.0.1:7000"
    api_auth: str | None = None
    api_token_file: str | None = None
    bind_address: str | None = None
    framework_name: str = "kafka"
    framework_role: str = "*"
    framework_timeout: float = 30 * 86400.0
    principal: str | None = None
    secret: str | None = None
    user: str | None = None
    kafka_dist: str | None = None
    executor_python: str = "python3"
    executor_cpus: float = 0.01
    executor_mem: float = 32.0
    executor_scope: str = "agent"
    mesos_content_type: str = "protobuf"
    reconcile_interval: float = 300.0
    reconciliation_timeout: float = 5.0
    reconciliation_attempts: int = 6
    failover_stable_after: float = 60.0
    revive_interval: float = 1.0
    decline_seconds: float = 3600.0
    stop_grace_period: float = 30.0
    local_agents: int = 3
    local_port: int = 0
    local_resources: str = "cpus:4;mem:8192;disk:20480;ports:[31000-32000]"
    local_attributes: str = "rack:r{n};zone:z{n}"
    local_work_dir: str | None = None
    local_allocation_interval: float = 0.2
    log: str | None = None
    debug: bool = False
    ha: bool | None = None
    """Leader election and hot standby; None: on when the storage is ZooKeeper and Mesos is not local."""
    zk_session_timeout: float = 10.0

    @property
    def ha_enabled(self) -> bool:
        if self.ha is not None:
            return self.ha
        return self.storage.startswith("zk:") and not self.is_local_master

    @property
    def is_local_master(self) -> bool:
        return self.master == "local"

    @property
    def api_port(self) -> int:
        parts = urlsplit(self.api)
        if parts.port is not None:
            return parts.port
        return 443 if parts.scheme == "https" else 80

    @property
    def api_host(self) -> str:
        return urlsplit(self.api).hostname or "127.0.0.1"

    @property
    def listen_host(self) -> str:
        """Where the HTTP server binds: `--bind-address`, else the host named in `--api`."""
        return self.bind_address or self.api_host

    def with_api_port(self, port: int) -> Settings:
        """The same settings with the API URL's port replaced (used when `--api` asked for port 0)."""
        parts = urlsplit(self.api)
        host = parts.hostname or "127.0.0.1"
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return dataclasses.replace(self, api=urlunsplit((parts.scheme, netloc, parts.path, "", "")))

    def summary(self) -> str:
        """The startup summary line, credentials (principal, secret, api-auth) masked."""
        shown = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for hidden in ("principal", "secret", "api_auth"):
            if shown[hidden]:
                shown[hidden] = "*****"
        return ", ".join(f"{k.replace('_', '-')}={v}" for k, v in shown.items() if v is not None)


# option name (as on the command line, without `--`) → (field, parser)
OPTIONS: dict[str, tuple[str, _Parser]] = {
    "master": ("master", _check_master),
    "zk": ("zk", _check_zk),
    "storage": ("storage", _check_storage),
    "api": ("api", _check_api),
    "api-auth": ("api_auth", _check_user_password),
    "api-token-file": ("api_token_file", _text),
    "bind-address": ("bind_address", _text),
    "framework-name": ("framework_name", _check_name),
    "framework-role": ("framework_role", _text),
    "framework-timeout": ("framework_timeout", parse_duration),
    "principal": ("principal", _text),
    "secret": ("secret", _text),
    "user": ("user", _text),
    "kafka-dist": ("kafka_dist", _text),
    "executor-python": ("executor_python", _text),
    "executor-cpus": ("executor_cpus", _non_negative_float),
    "executor-mem": ("executor_mem", _non_negative_float),
    "executor-scope": ("executor_scope", _one_of("agent", "broker")),
    "mesos-content-type": ("mesos_content_type", _one_of("protobuf", "json")),
    "reconcile-interval": ("reconcile_interval", parse_duration),
    "reconciliation-timeout": ("reconciliation_timeout", parse_duration),
    "reconciliation-attempts": ("reconciliation_attempts", _positive_int),
    "failover-stable-after": ("failover_stable_after", parse_duration),
    "revive-interval": ("revive_interval", parse_duration),
    "decline-seconds": ("decline_seconds", parse_duration),
    "stop-grace-period": ("stop_grace_period", parse_duration),
    "local-agents": ("local_agents", _positive_int),
    "local-port": ("local_port", lambda n, t: 0 if t == "0" else _positive_int(n, t)),
    "local-resources": ("local_resources", _text),
    "local-attributes": ("local_attributes", _text),
    "local-work-dir": ("local_work_dir", _text),
    "local-allocation-interval": ("local_allocation_interval", parse_duration),
    "log": ("log", _text),
    "debug": ("debug", _check_bool),
    "ha": ("ha", _check_bool),
    "zk-session-timeout": ("zk_session_timeout", parse_duration),
}


def env_name(option: str) -> str:
    """`framework-name` → `KM_FRAMEWORK_NAME`."""
    return ENV_PREFIX + option.upper().replace("-", "_")


def read_properties(path: Path) -> dict[str, str]:
    """A Java-style properties file: `key=value` or `key: value`, `#`/`!` comments, blank lines."""
    result: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", "!")):
            continue
        m = re.match(r"^([^=:\s]+)\s*[=:\s]\s*(.*)$", line)
        if m is None:
            raise SettingsError("config", f"{path}:{number}: cannot parse {line!r}")
        result[m.group(1)] = m.group(2)
    return result


def load_settings(
    cli: Mapping[str, str | None],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Settings from the given sources, first hit wins: CLI option, env `KM_<NAME>`, properties, default.

    `cli` maps option names (`framework-name`) to text; None means "not given". `config_file`, when given,
    must exist; otherwise `kafka-mesos.properties` in `cwd` is read if present. Unknown keys in the
    properties file are ignored (the CLI helpers read `api=` from the same file).
    """
    env = os.environ if env is None else env
    unknown = [name for name in cli if name not in OPTIONS]
    if unknown:
        raise SettingsError(unknown[0], "unknown option")
    if config_file is not None:
        if not config_file.is_file():
            raise SettingsError("config", f"{config_file} does not exist")
        properties = read_properties(config_file)
    else:
        default_file = (cwd or Path.cwd()) / PROPERTIES_FILE
        properties = read_properties(default_file) if default_file.is_file() else {}

    values: dict[str, Any] = {}
    for option, (field, parser) in OPTIONS.items():
        text = cli.get(option)
        if text is None:
            text = env.get(env_name(option))
        if text is None:
            text = properties.get(option)
        if text is None:
            continue
        values[field] = parser(option, text.strip() if option not in ("secret", "api-auth") else text)
    settings = Settings(**values)
    return _validate(settings)


def _validate(s: Settings) -> Settings:
    if s.storage.startswith("zk:") and not s.zk:
        raise SettingsError("storage", f"{s.storage!r} needs --zk (the ZooKeeper it lives in)")
    if s.api_auth and s.api_token_file:
        raise SettingsError("api-auth", "give either --api-auth or --api-token-file, not both")
    if s.ha and not s.storage.startswith("zk:"):
        raise SettingsError("ha", "leader election needs the ZooKeeper storage (--storage zk:/PATH --zk ...)")
    if s.ha and s.is_local_master:
        raise SettingsError("ha", "leader election needs a shared Mesos (--master), not the embedded one")
    if s.zk_session_timeout < 1:
        raise SettingsError("zk-session-timeout", f"{s.zk_session_timeout:g}s is too short (at least 1s)")
    if s.secret and not s.principal:
        raise SettingsError("secret", "given without --principal")
    return s
