"""The scheduler calls this framework makes, as pure builders (the session fills in the framework id)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kafka_mesos.mesos.pb import mesos_pb2, scheduler_pb2

Call = scheduler_pb2.Call


def decline(offer_ids: Sequence[str], refuse_seconds: float) -> Call:
    return Call(type=Call.DECLINE, decline=Call.Decline(
        offer_ids=[mesos_pb2.OfferID(value=o) for o in offer_ids],
        filters=mesos_pb2.Filters(refuse_seconds=refuse_seconds),
    ))


def accept_launch(
    offer_ids: Sequence[str], tasks: Sequence[mesos_pb2.TaskInfo], refuse_seconds: float
) -> Call:
    launch = mesos_pb2.Offer.Operation(
        type=mesos_pb2.Offer.Operation.LAUNCH, launch=mesos_pb2.Offer.Operation.Launch(task_infos=tasks)
    )
    return Call(type=Call.ACCEPT, accept=Call.Accept(
        offer_ids=[mesos_pb2.OfferID(value=o) for o in offer_ids],
        operations=[launch],
        filters=mesos_pb2.Filters(refuse_seconds=refuse_seconds),
    ))


def acknowledge(agent_id: str, task_id: str, uuid: bytes) -> Call:
    return Call(type=Call.ACKNOWLEDGE, acknowledge=Call.Acknowledge(
        agent_id=mesos_pb2.AgentID(value=agent_id), task_id=mesos_pb2.TaskID(value=task_id), uuid=uuid,
    ))


def kill(task_id: str, agent_id: str | None) -> Call:
    payload = Call.Kill(task_id=mesos_pb2.TaskID(value=task_id))
    if agent_id:
        payload.agent_id.value = agent_id
    return Call(type=Call.KILL, kill=payload)


def shutdown(executor_id: str, agent_id: str) -> Call:
    return Call(type=Call.SHUTDOWN, shutdown=Call.Shutdown(
        executor_id=mesos_pb2.ExecutorID(value=executor_id), agent_id=mesos_pb2.AgentID(value=agent_id),
    ))


def reconcile(tasks: Mapping[str, str | None]) -> Call:
    """Explicit for the given task id → agent id; implicit when empty."""
    entries = []
    for task_id, agent_id in tasks.items():
        entry = Call.Reconcile.Task(task_id=mesos_pb2.TaskID(value=task_id))
        if agent_id:
            entry.agent_id.value = agent_id
        entries.append(entry)
    return Call(type=Call.RECONCILE, reconcile=Call.Reconcile(tasks=entries))


def revive(role: str) -> Call:
    return Call(type=Call.REVIVE, revive=Call.Revive(roles=[role]))


def suppress(role: str) -> Call:
    return Call(type=Call.SUPPRESS, suppress=Call.Suppress(roles=[role]))


def message(agent_id: str, executor_id: str, data: bytes) -> Call:
    return Call(type=Call.MESSAGE, message=Call.Message(
        agent_id=mesos_pb2.AgentID(value=agent_id), executor_id=mesos_pb2.ExecutorID(value=executor_id),
        data=data,
    ))
