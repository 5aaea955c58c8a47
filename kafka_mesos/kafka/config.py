"""Render a broker's ``server.properties``, ``log4j.properties`` and environment from a :class:`LaunchSpec`.

Precedence (lowest first): the distribution's own file, the values computed from the launch (broker id,
listeners, advertised listeners, log dirs, ZooKeeper), then the broker's options, which always win.
``$id`` in an option value is replaced by the broker id (as mesos/kafka does). Stdlib only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from kafka_mesos.kafka.launch import LaunchSpec

LOG_DIRS_NAME = "kafka-logs"


def parse_properties(text: str) -> dict[str, str]:
    """Parse Java ``.properties`` text (comments, ``=``/``:``/blank separators, ``\\`` continuations)."""
    result: dict[str, str] = {}
    for line in _logical_lines(text):
        key, value = _split_key_value(line)
        result[_unescape(key)] = _unescape(value)
    return result


def _logical_lines(text: str) -> list[str]:
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        stripped = raw.lstrip()
        if not pending and (not stripped or stripped[0] in "#!"):
            continue
        line = pending + stripped
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2 == 1:
            pending = line[:-1]
            continue
        pending = ""
        lines.append(line)
    if pending:
        lines.append(pending)
    return lines


def _split_key_value(line: str) -> tuple[str, str]:
    index = 0
    while index < len(line):
        char = line[index]
        if char == "\\":
            index += 2
            continue
        if char in "=: \t\f":
            break
        index += 1
    key = line[:index]
    rest = line[index:].lstrip(" \t\f")
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(" \t\f")
    return key, rest


_UNESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    out: list[str] = []
    chars = iter(text)
    for char in chars:
        if char != "\\":
            out.append(char)
            continue
        nxt = next(chars, "")
        if nxt == "u":
            digits = "".join(next(chars, "") for _ in range(4))
            out.append(chr(int(digits, 16)) if len(digits) == 4 else "\\u" + digits)
        else:
            out.append(_UNESCAPES.get(nxt, nxt))
    return "".join(out)


def _escape(text: str, is_key: bool) -> str:
    out: list[str] = []
    for position, char in enumerate(text):
        if char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif char in "=:#!" and is_key:
            out.append("\\" + char)
        elif char == " " and (is_key or position == 0):
            out.append("\\ ")
        else:
            out.append(char)
    return "".join(out)


def render_properties(values: Mapping[str, str], header: str = "") -> str:
    lines = [f"# {line}" for line in header.splitlines()]
    lines += [f"{_escape(key, True)}={_escape(value, False)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def merge_properties(base_text: str, overrides: Mapping[str, str]) -> dict[str, str]:
    """The base file's properties in their order, overridden values replaced in place, new ones appended."""
    merged = parse_properties(base_text)
    merged.update(overrides)
    return merged


def computed_server_properties(spec: LaunchSpec, work_dir: str) -> dict[str, str]:
    """What the launch decides, before the broker's own options (``work_dir``: the broker's own directory)."""
    bind_host = spec.bind_address or ""
    return {
        "broker.id": str(spec.broker_id),
        "listeners": f"PLAINTEXT://{bind_host}:{spec.port}",
        "advertised.listeners": f"PLAINTEXT://{spec.advertised_hostname}:{spec.port}",
        "log.dirs": log_dirs(spec, work_dir),
        "zookeeper.connect": spec.zookeeper_connect,
    }


def log_dirs(spec: LaunchSpec, work_dir: str) -> str:
    """The explicit ``log.dirs``, else ``<volume_path or work_dir>/kafka-logs``."""
    if spec.log_dirs:
        return spec.log_dirs
    root = spec.volume_path or work_dir
    return os.path.join(root, LOG_DIRS_NAME)


def broker_options(spec: LaunchSpec) -> dict[str, str]:
    return {key: value.replace("$id", str(spec.broker_id)) for key, value in spec.options.items()}


def render_server_properties(base_text: str, spec: LaunchSpec, work_dir: str) -> str:
    overrides = {**computed_server_properties(spec, work_dir), **broker_options(spec)}
    merged = merge_properties(base_text, overrides)
    return render_properties(merged, header=_header(spec))


def render_log4j_properties(base_text: str, spec: LaunchSpec) -> str:
    merged = merge_properties(base_text, spec.log4j_options)
    return render_properties(merged, header=_header(spec))


def broker_environment(spec: LaunchSpec) -> dict[str, str]:
    """Variables ``bin/kafka-server-start.sh`` reads: heap and JVM performance options."""
    env = {"KAFKA_HEAP_OPTS": f"-Xmx{spec.heap_mb}M -Xms{spec.heap_mb}M"}
    if spec.jvm_options.strip():
        env["KAFKA_JVM_PERFORMANCE_OPTS"] = spec.jvm_options.strip()
    return env


def _header(spec: LaunchSpec) -> str:
    return f"written by the kafka-mesos executor for broker {spec.broker_id}"
