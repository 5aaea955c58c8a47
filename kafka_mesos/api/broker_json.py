"""Broker JSON text as the API sends it, rendered once per broker record and reused while it reads the same.

An answer that lists brokers is ``json.dumps`` of ``{"brokers": [broker_to_api_json(b, now), ...], ...}``.
Rendering 10,000 brokers costs ~200 ms of CPU per request, while brokers change one at a time. Two layers:
- ``BrokerTexts``: each broker's JSON text, re-rendered only for a broker that changed;
- ``BrokerListCache``: the joined list per broker expression, reused while no broker changed.
An answer is built from them byte for byte as ``json.dumps`` (aiohttp's ``json_response``) writes it for the
same brokers and the same ``now``.

Why a cached text is never stale:
- The state (``ClusterState``) never changes a Broker object it holds: every change stores a new object
  (callbacks get copies; ``refresh`` parses new ones). A text is reused only for the very same object
  (``is``); the cache keeps that object alive, so its identity cannot pass to another broker.
- As a guard against code that would assign a field of a held broker in place anyway (a contract breach
  ``ClusterState`` would not persist either), the cache also keeps every field value of every broker: a
  field reassigned to another value (``broker.task = None``) re-renders that broker. Not seen: a field
  reassigned to an *equal* value that renders differently (``1`` for ``1.0``, a dict in another order), and
  a change inside a field's own dict; the model's code copies and replaces, it never does either.
- The only part of a broker's text that depends on ``now`` flips at one instant
  (``display_state_switch_time``); a text records on which side of it it was rendered.
Each request checks all of this for every broker in a few passes at C speed (~6 ms at 10,000 brokers on
the benchmark machine, most of it the field guard); only the brokers found changed are rendered again.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import accumulate, chain, compress, repeat
from operator import attrgetter, is_not
from typing import Any

from kafka_mesos.core.model import Broker, broker_to_api_json, display_state_switch_time


class _Entry:
    __slots__ = ("before_switch", "broker", "fields", "switch", "text")

    def __init__(self, broker: Broker, now: float) -> None:
        self.broker = broker
        self.fields = tuple(broker.__dict__.values())
        self.switch = display_state_switch_time(broker)
        self.before_switch = self.switch is not None and now < self.switch
        self.text = json.dumps(broker_to_api_json(broker, now)).encode()

    def serves(self, broker: Broker, now: float) -> bool:
        return (
            self.broker is broker
            and not self.flipped(now)
            and len(self.fields) == len(broker.__dict__)
            and not any(map(is_not, self.fields, broker.__dict__.values()))
        )

    def flipped(self, now: float) -> bool:
        return self.switch is not None and (now < self.switch) != self.before_switch


_text = attrgetter("text")
_CHUNK = 2048  # field values compared at a time: a change is located within its chunk only


def _field_values(members: Iterable[Broker]) -> Iterable[Any]:
    return chain.from_iterable(map(dict.values, map(vars, members)))


class BrokerTexts:
    """Each broker's JSON text (``json.dumps(broker_to_api_json(broker, now))``), kept per broker id, in
    step with the brokers last passed to `sync`."""

    def __init__(self) -> None:
        self._entries: dict[int, _Entry] = {}
        # The brokers of the last sync, in their mapping's order, laid out for checks at C speed:
        self._ids: list[int] = []
        self._members: list[Broker] = []
        self._fields: list[Any] = []  # every field value of each broker, flattened
        self._counts: list[int] = []  # how many of those each broker has ...
        self._offsets: list[int] = []  # ... from which position ...
        self._owners: list[int] = []  # ... and for each position, the index of its broker
        self._timed: dict[int, _Entry] = {}  # by index: the texts that change at a switch time
        self.renders = 0  # brokers rendered (cache misses), for tests and diagnostics

    def __len__(self) -> int:
        return len(self._entries)

    def sync(self, brokers: Mapping[int, Broker], now: float) -> bool:
        """Re-render what changed since the last sync (or reads differently at `now`); True if anything."""
        ids, members = list(brokers), list(brokers.values())
        if ids != self._ids:
            self._resync(brokers, ids, members, now)
            return True
        stale = self._stale(members, now)
        if stale is None or any(len(vars(members[i])) != self._counts[i] for i in stale):
            self._resync(brokers, ids, members, now)  # an attribute added or removed: lay out again
            return True
        if not stale:
            return False
        for index in stale:
            broker = members[index]
            values = broker.__dict__.values()
            count = self._counts[index]
            entry = self._entries[ids[index]] = self._render(broker, now)
            start = self._offsets[index]
            self._fields[start:start + count] = values
            self._members[index] = broker
            if entry.switch is None:
                self._timed.pop(index, None)
            else:
                self._timed[index] = entry
        return True

    def texts(self, ids: Iterable[int]) -> list[bytes]:
        """The texts of `ids` (known brokers only), as of the last sync."""
        entries = self._entries
        return list(map(_text, map(entries.__getitem__, filter(entries.__contains__, ids))))

    def _stale(self, members: list[Broker], now: float) -> set[int] | None:
        """Indexes of the brokers (same ids, same order as last time) that are another object, have a
        reassigned field, or read differently at `now`; None when the field layout itself changed. Each
        check is one pass at C speed; list equality compares by identity first, so only a chunk with a
        mismatch costs more (located by identity)."""
        stale = set(compress(range(len(members)), map(is_not, self._members, members)))
        fields = list(_field_values(members))
        if len(fields) != len(self._fields):
            return None
        kept, owners = self._fields, self._owners
        for start in range(0, len(fields), _CHUNK):  # list `!=` is fast; locating a change is not
            end = start + _CHUNK
            if fields[start:end] != kept[start:end]:
                stale.update(compress(owners[start:end], map(is_not, kept[start:end], fields[start:end])))
        stale.update(index for index, entry in self._timed.items() if entry.flipped(now))
        return stale

    def _resync(
        self, brokers: Mapping[int, Broker], ids: list[int], members: list[Broker], now: float
    ) -> None:
        """Brokers added or removed: keep each entry that still serves, render the others, lay out again."""
        entries: dict[int, _Entry] = {}
        for broker_id, broker in brokers.items():
            entry = self._entries.get(broker_id)
            entries[broker_id] = entry if entry is not None and entry.serves(broker, now) else self._render(
                broker, now)
        self._entries = entries
        self._ids, self._members = ids, members
        self._fields = list(_field_values(members))
        self._counts = list(map(len, map(vars, members)))
        self._offsets = list(accumulate(self._counts, initial=0))
        self._owners = list(chain.from_iterable(map(repeat, range(len(members)), self._counts)))
        self._timed = {index: entries[i] for index, i in enumerate(ids) if entries[i].switch is not None}

    def _render(self, broker: Broker, now: float) -> _Entry:
        self.renders += 1
        return _Entry(broker, now)


class BrokerListCache:
    """The JSON list of the brokers a broker expression selects (``[{...}, {...}]``), per expression,
    reused until a broker changes (or its text changes with the clock)."""

    MAX_EXPRESSIONS = 4

    def __init__(self) -> None:
        self.brokers = BrokerTexts()
        self._lists: OrderedDict[str, bytes] = OrderedDict()
        self.made = 0  # lists joined (cache misses), for tests and diagnostics

    def list_text(
        self, brokers: Mapping[int, Broker], expr: str, select: Callable[[], Sequence[int]], now: float
    ) -> bytes:
        """The list for `expr`; `select()` gives its broker ids in `brokers` when it must be made."""
        if self.brokers.sync(brokers, now):
            self._lists.clear()
        text = self._lists.get(expr)
        if text is None:
            selected = select()  # may raise (a bad expression): nothing is cached then
            text = b"".join((b"[", b", ".join(self.brokers.texts(selected)), b"]"))
            self.made += 1
            self._lists[expr] = text
            while len(self._lists) > self.MAX_EXPRESSIONS:
                self._lists.popitem(last=False)
        self._lists.move_to_end(expr)
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
