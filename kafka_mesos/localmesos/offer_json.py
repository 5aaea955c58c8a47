"""A fast path for OFFERS events in JSON.

The generic converter walks every field of every message in Python; for 200 offers that takes
hundreds of milliseconds. Offers repeat the same pieces (an agent's URL and attributes, identical
resource bags), so those are converted once and reused. The result equals
`codec.message_to_dict(event, emit_defaults=True)` for the fields the master sets on offers
(a test checks it).
"""

from __future__ import annotations

from typing import Any

from kafka_mesos.localmesos.records import OfferRecord
from kafka_mesos.localmesos.resources import Resources
from kafka_mesos.mesos import codec
from kafka_mesos.mesos.pb import mesos_pb2 as mpb

_OFFER_FIELDS = [field.name for field in mpb.Offer.DESCRIPTOR.fields]


class OfferJsonCache:
    def __init__(self) -> None:
        self._resources: dict[tuple[Resources, str | None], list[dict[str, Any]]] = {}
        self._agent_pieces: dict[str, dict[str, Any]] = {}

    def forget_agent(self, agent_id: str) -> None:
        self._agent_pieces.pop(agent_id, None)

    def offers_event(self, offers: list[OfferRecord], multi_role: bool) -> bytes:
        body = {"type": "OFFERS", "offers": {"offers": [self._offer(o, multi_role) for o in offers]}}
        return codec.json_dumps(body).encode()

    def _offer(self, offer: OfferRecord, multi_role: bool) -> dict[str, Any]:
        message = offer.message
        pieces = self._agent_pieces.get(offer.agent_id)
        if pieces is None:
            pieces = {
                "url": codec.message_to_dict(message.url, emit_defaults=True),
                "attributes": [codec.message_to_dict(a, emit_defaults=True) for a in message.attributes],
            }
            self._agent_pieces[offer.agent_id] = pieces
        role = offer.role if multi_role else None
        resources = self._resources.get((offer.resources, role))
        if resources is None:
            resources = [codec.message_to_dict(r, emit_defaults=True) for r in message.resources]
            if len(self._resources) > 10000:
                self._resources.clear()
            self._resources[(offer.resources, role)] = resources
        generic: dict[str, Any] = {
            "id": {"value": message.id.value},
            "framework_id": {"value": message.framework_id.value},
            "agent_id": {"value": message.agent_id.value},
            "hostname": message.hostname,
        }
        if len(message.executor_ids):
            generic["executor_ids"] = [{"value": e.value} for e in message.executor_ids]
        if message.HasField("allocation_info"):
            generic["allocation_info"] = {"role": message.allocation_info.role}
        out: dict[str, Any] = {}
        for name in _OFFER_FIELDS:
            if name == "resources":
                if resources:
                    out[name] = resources
            elif name in pieces:
                if pieces[name]:
                    out[name] = pieces[name]
            elif name in generic:
                out[name] = generic[name]
        return out
