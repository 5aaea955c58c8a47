"""Broker JSON text as the API sends it, rendered once per broker record and reused while it reads the same.

An answer that lists brokers is ``json.dumps`` of ``{"brokers": [broker_to_api_json(b, now), ...], ...}``.
Rendering 10,000 brokers costs ~200 ms of CPU per request, while brokers change one at a time. Two layers:
- ``BrokerJsonCache``: each broker's JSON text, re-rendered only for a broker that changed;
- ``BrokerListCache``: the joined list per broker expression, reused while no broker changed.
An answer is built from them byte for byte as ``json.dumps`` (aiohttp's ``json_response``) writes it for the
same brokers and the same ``now``.

Why a cached text is never stale:
- The state (``ClusterState``) never changes a Broker object it holds: every change stores a new object
  (callbacks get copies; ``refresh`` parses new ones). A text is reused only for the very same objects
  (``is``); the cache keeps those objects alive, so their identities cannot pass to other brokers.
- As a guard against code that would assign a field of a held broker in place anyway (a contract breach
  ``ClusterState`` would not persist either), the caches also keep the identities of every field value: a
  reassigned field (``broker.task = None``) makes them miss. (A change inside a field's own dict is not
  seen: the model's dicts are copied on every change, never edited in place.)
- The only part of a broker's text that depends on ``now`` flips at one instant
  (``display_state_switch_time``): a broker's text records on which side of it it was rendered, a list
  the window of ``now`` in which none of its brokers flips.
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import is_
from typing import Any

from kafka_mesos.core.model import Broker, broker_to_api_json, display_state_switch_time


def _same_objects(kept: Collection[Any], current: Collection[Any]) -> bool:
    # Identity, not equality: a field value that is another object means the field was reassigned
    # (and an equal value of another type, 1 for 1.0, would render differently).
    return len(kept) == len(current) and all(map(is_, kept, current))


class _Entry:
    __slots__ = ("before_switch", "broker", "fields", "switch", "text")

    def __init__(self, broker: Broker, now: float) -> None:
        self.broker = broker
        self.fields = tuple(broker.__dict__.values())
        self.switch = display_state_switch_time(broker)
        self.before_switch = self.switch is not None and now < self.switch
        self.text = json.dumps(broker_to_api_json(broker, now)).encode()


@dataclass(frozen=True)
class Rendered:
    """Brokers' JSON texts, and the window `since <= now < until` in which they all read the same."""

    texts: list[bytes]
    since: float
    until: float


class BrokerJsonCache:
    """Each broker's JSON text (``json.dumps(broker_to_api_json(broker, now))``), kept per broker id."""

    def __init__(self) -> None:
        self._entries: dict[int, _Entry] = {}
        self.renders = 0  # brokers rendered (cache misses), for tests and diagnostics

    def __len__(self) -> int:
        return len(self._entries)

    def render(self, brokers: Mapping[int, Broker], ids: Sequence[int], now: float) -> Rendered:
        """The JSON text of each broker of `ids` that exists in `brokers`, in the order of `ids`."""
        entries = self._entries
        if len(entries) > len(brokers):
            self._forget_absent(brokers)
        texts: list[bytes] = []
        since, until = -math.inf, math.inf
        for broker_id in ids:  # runs over every broker after a change: kept flat on purpose
            broker = brokers.get(broker_id)
            if broker is None:
                continue
            entry = entries.get(broker_id)
            if (
                entry is None
                or entry.broker is not broker
                or (entry.switch is not None and (now < entry.switch) != entry.before_switch)
                or not _same_objects(entry.fields, broker.__dict__.values())
            ):
                entry = entries[broker_id] = _Entry(broker, now)
                self.renders += 1
            texts.append(entry.text)
            if entry.switch is not None:
                if entry.before_switch:
                    until = min(until, entry.switch)
                else:
                    since = max(since, entry.switch)
        return Rendered(texts, since, until)

    def _forget_absent(self, brokers: Mapping[int, Broker]) -> None:
        for broker_id in [i for i in self._entries if i not in brokers]:
            del self._entries[broker_id]


class _Basis:
    """The brokers the cached lists were made from: the objects, in order, and all their field values."""

    def __init__(self, ids: list[int], members: list[Broker]) -> None:
        self.ids = ids
        self.members = members
        self.fields = list(_field_values(members))

    def holds(self, ids: list[int], members: list[Broker]) -> bool:
        # The field check is most of a cached answer's cost (~6 of ~9 ms at 10,000 brokers). A broker
        # that gained an attribute only shifts the values after it: a miss, never a false hit.
        return (
            ids == self.ids
            and _same_objects(self.members, members)
            and all(map(is_, self.fields, _field_values(members)))
        )


def _field_values(members: list[Broker]) -> chain[Any]:
    return chain.from_iterable(map(dict.values, map(vars, members)))


@dataclass(frozen=True)
class _List:
    text: bytes
    since: float
    until: float


class BrokerListCache:
    """The JSON list of the brokers a broker expression selects (``[{...}, {...}]``), per expression,
    reused while the state holds the very same brokers and `now` stays in the list's window."""

    MAX_EXPRESSIONS = 4

    def __init__(self) -> None:
        self.brokers = BrokerJsonCache()
        self._basis: _Basis | None = None
        self._lists: OrderedDict[str, _List] = OrderedDict()
        self.made = 0  # lists joined (cache misses), for tests and diagnostics

    def list_text(
        self, brokers: Mapping[int, Broker], expr: str, select: Callable[[], Sequence[int]], now: float
    ) -> bytes:
        """The list for `expr`; `select()` gives its broker ids in `brokers` when it must be made."""
        ids, members = list(brokers), list(brokers.values())
        if self._basis is None or not self._basis.holds(ids, members):
            self._basis, self._lists = None, OrderedDict()
        cached = self._lists.get(expr)
        if cached is not None and cached.since <= now < cached.until:
            self._lists.move_to_end(expr)
            return cached.text
        selected = select()  # may raise (a bad expression): nothing is cached then
        rendered = self.brokers.render(brokers, selected, now)
        text = b"".join((b"[", b", ".join(rendered.texts), b"]"))
        self.made += 1
        if self._basis is None:
            self._basis = _Basis(ids, members)
        self._lists[expr] = _List(text, rendered.since, rendered.until)
        self._lists.move_to_end(expr)
        while len(self._lists) > self.MAX_EXPRESSIONS:
            self._lists.popitem(last=False)
        return text


def encode_answer(answer: Mapping[str, Any], list_key: str, list_text: bytes) -> bytes:
    """``json.dumps(answer).encode()`` with ``answer[list_key]`` the already encoded `list_text`
    (same separators and key order as ``json.dumps``' defaults)."""
    parts: list[bytes] = []
    for key, value in answer.items():
        parts.append(b", " if parts else b"{")
        parts.append(json.dumps(key).encode() + b": ")
        parts.append(list_text if key == list_key else json.dumps(value).encode())
    parts.append(b"}" if parts else b"{}")
    return b"".join(parts)
