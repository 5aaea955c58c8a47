"""Schemathesis against a live API: requests generated from `/api/openapi.json`, valid and invalid ones.

Used by tests/fuzz/test_api_fuzz.py (a bounded number of examples) and bench/fuzz_api.py (a larger run).
Checks on every answer:
- no 5xx (501 "not available" of a route the server cannot serve here is reported apart, not as a failure);
- every 4xx/5xx has the JSON error body `{"code": <status>, "error": <text>, "field": <text|null>}`;
- a refused request changed nothing: the broker specs in the store (the state file) are the same after it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import HypothesisException
from schemathesis import GenerationMode

SKIPPED_PATHS = ("/quitquitquit",)
# Fields the scheduler writes by itself while it runs (placement reasons, tasks, failover counters): they may
# change while a refused request is being answered without that request having changed anything.
OBSERVED_FIELDS = ("task", "lastTaskId", "placementReason", "events", "needsRestart")
OBSERVED_NESTED = {"failover": ("failures", "failureTime", "reason"),
                   "stickiness": ("hostname", "port", "stopTime")}


@dataclass
class FuzzReport:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    not_available: set[str] = field(default_factory=set)
    generation_skipped: list[str] = field(default_factory=list)


def broker_specs(state_file: Path) -> dict[str, Any]:
    """The operator-given part of every broker in the file store."""
    if not state_file.exists():
        return {}
    brokers = json.loads(state_file.read_text()).get("brokers", {})
    specs: dict[str, Any] = {}
    for broker_id, record in brokers.items():
        data = {k: v for k, v in record["data"].items() if k not in OBSERVED_FIELDS}
        for name, nested in OBSERVED_NESTED.items():
            if isinstance(data.get(name), dict):
                data[name] = {k: v for k, v in data[name].items() if k not in nested}
        specs[broker_id] = data
    return specs


def _without_waits(case: schemathesis.Case) -> None:
    """`timeout=` makes start/stop/restart/log wait for brokers that cannot launch here: wait zero instead."""
    for container in (case.query, case.body if isinstance(case.body, dict) else None):
        if isinstance(container, dict) and "timeout" in container:
            container["timeout"] = "0"


def _check(case: schemathesis.Case, status: int, text: str, before: dict[str, Any], after: dict[str, Any],
           report: FuzzReport) -> None:
    label = f"{case.method} {case.path} query={case.query!r} body={case.body!r}"[:600]
    report.requests += 1
    report.statuses[status] += 1
    if status == 501:
        report.not_available.add(case.path)
    elif status >= 500:
        report.problems.append(f"{status} for {label}: {text[:300]}")
    if status >= 400:
        try:
            body = json.loads(text)
        except json.JSONDecodeError:
            report.problems.append(f"{status} without a JSON body for {label}: {text[:200]}")
        else:
            well_formed = (isinstance(body, dict) and body.get("code") == status
                           and isinstance(body.get("error"), str) and "field" in body
                           and (body["field"] is None or isinstance(body["field"], str)))
            if not well_formed:
                report.problems.append(f"{status} with a malformed error body for {label}: {text[:200]}")
        if before != after:
            report.problems.append(f"refused request ({status}) changed the store: {label}")


def fuzz_api(api: str, state_file: Path, examples: int, *, authorization: str | None = None,
             modes: Iterable[GenerationMode] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
             skip_paths: tuple[str, ...] = SKIPPED_PATHS) -> FuzzReport:
    headers = {"Authorization": authorization} if authorization else {}
    schema = schemathesis.openapi.from_url(f"{api}/api/openapi.json", headers=headers)
    report = FuzzReport()
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        if operation.path in skip_paths:
            continue
        for mode in modes:
            strategy = operation.as_strategy(generation_mode=mode)

            @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def run(case: schemathesis.Case) -> None:
                _without_waits(case)
                before = broker_specs(state_file)
                response = case.call(base_url=api, headers=headers, timeout=60)
                _check(case, response.status_code, response.text, before, broker_specs(state_file), report)

            try:
                run()
            except HypothesisException as e:  # e.g. no invalid value exists for an operation without params
                report.generation_skipped.append(f"{mode.value} {operation.method.upper()} {operation.path}: "
                                                 f"{type(e).__name__}")
    return report
