"""Pure builders of scheduler calls (``mesos.v1.scheduler.Call``) and offer operations.

Builders leave ``Call.framework_id`` unset unless ``framework_id`` is given:
``SchedulerSession.call`` fills it in. Ids may be given as plain strings.
Remember that a call's payload field number is not its type number
(REVIVE travels in field 15, SUPPRESS in 16, …); the builders take care of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .pb import mesos_pb2, scheduler_pb2

Call = scheduler_pb2.Call
Operation = mesos_pb2.Offer.Operation


def _call(call_type: int, framework_id: str | None) -> scheduler_pb2.Call:
    call = Call(type=call_type)  # type: ignore[arg-type]
    if framework_id is not None:
        call.framework_id.value = framework_id
    return call


def _filters(refuse_seconds: float | None) -> mesos_pb2.Filters | None:
    return None if refuse_seconds is None else mesos_pb2.Filters(refuse_seconds=refuse_seconds)


# ---------------------------------------------------------------- framework lifecycle


def subscribe(
    framework_info: mesos_pb2.FrameworkInfo,
    suppressed_roles: Iterable[str] = (),
    offer_constraints: scheduler_pb2.OfferConstraints | None = None,
) -> scheduler_pb2.Call:
    """SUBSCRIBE; when ``framework_info.id`` is set it is copied to ``Call.framework_id``
    too (Mesos requires the id in both places on a re-subscription)."""
    call = _call(Call.SUBSCRIBE, framework_info.id.value if framework_info.HasField("id") else None)
    call.subscribe.framework_info.CopyFrom(framework_info)
    call.subscribe.suppressed_roles.extend(suppressed_roles)
    if offer_constraints is not None:
        call.subscribe.offer_constraints.CopyFrom(offer_constraints)
    return call


def teardown(framework_id: str | None = None) -> scheduler_pb2.Call:
    """TEARDOWN: kills every task; the framework id can never be used again."""
    return _call(Call.TEARDOWN, framework_id)


def update_framework(
    framework_info: mesos_pb2.FrameworkInfo,
    suppressed_roles: Iterable[str] = (),
    offer_constraints: scheduler_pb2.OfferConstraints | None = None,
    framework_id: str | None = None,
) -> scheduler_pb2.Call:
    fid = framework_id or (framework_info.id.value if framework_info.HasField("id") else None)
    call = _call(Call.UPDATE_FRAMEWORK, fid)
    call.update_framework.framework_info.CopyFrom(framework_info)
    call.update_framework.suppressed_roles.extend(suppressed_roles)
    if offer_constraints is not None:
        call.update_framework.offer_constraints.CopyFrom(offer_constraints)
    return call


# ---------------------------------------------------------------- offers


def accept(
    offer_ids: Iterable[str],
    operations: Iterable[mesos_pb2.Offer.Operation],
    refuse_seconds: float | None = None,
    framework_id: str | None = None,
) -> scheduler_pb2.Call:
    """ACCEPT offers (all from one agent) with operations; ``refuse_seconds`` filters the
    unused remainder (Mesos' default when None: 5 s)."""
    call = _call(Call.ACCEPT, framework_id)
    for offer_id in offer_ids:
        call.accept.offer_ids.add(value=offer_id)
    call.accept.operations.extend(operations)
    filters = _filters(refuse_seconds)
    if filters is not None:
        call.accept.filters.CopyFrom(filters)
    return call


def decline(
    offer_ids: Iterable[str], refuse_seconds: float | None = None, framework_id: str | None = None
) -> scheduler_pb2.Call:
    """DECLINE offers; pass an explicit ``refuse_seconds`` (e.g. 3600 for unwanted offers)."""
    call = _call(Call.DECLINE, framework_id)
    for offer_id in offer_ids:
        call.decline.offer_ids.add(value=offer_id)
    filters = _filters(refuse_seconds)
    if filters is not None:
        call.decline.filters.CopyFrom(filters)
    return call


def revive(roles: Iterable[str] = (), framework_id: str | None = None) -> scheduler_pb2.Call:
    """REVIVE: clear filters and unsuppress the roles (all when empty)."""
    call = _call(Call.REVIVE, framework_id)
    call.revive.SetInParent()
    call.revive.roles.extend(roles)
    return call


def suppress(roles: Iterable[str] = (), framework_id: str | None = None) -> scheduler_pb2.Call:
    """SUPPRESS offers for the roles (all when empty)."""
    call = _call(Call.SUPPRESS, framework_id)
    call.suppress.SetInParent()
    call.suppress.roles.extend(roles)
    return call


def request(requests: Iterable[mesos_pb2.Request], framework_id: str | None = None) -> scheduler_pb2.Call:
    call = _call(Call.REQUEST, framework_id)
    call.request.SetInParent()
    call.request.requests.extend(requests)
    return call


def accept_inverse_offers(
    inverse_offer_ids: Iterable[str], refuse_seconds: float | None = None, framework_id: str | None = None
) -> scheduler_pb2.Call:
    call = _call(Call.ACCEPT_INVERSE_OFFERS, framework_id)
    for offer_id in inverse_offer_ids:
        call.accept_inverse_offers.inverse_offer_ids.add(value=offer_id)
    filters = _filters(refuse_seconds)
    if filters is not None:
        call.accept_inverse_offers.filters.CopyFrom(filters)
    return call


def decline_inverse_offers(
    inverse_offer_ids: Iterable[str], refuse_seconds: float | None = None, framework_id: str | None = None
) -> scheduler_pb2.Call:
    call = _call(Call.DECLINE_INVERSE_OFFERS, framework_id)
    for offer_id in inverse_offer_ids:
        call.decline_inverse_offers.inverse_offer_ids.add(value=offer_id)
    filters = _filters(refuse_seconds)
    if filters is not None:
        call.decline_inverse_offers.filters.CopyFrom(filters)
    return call


# ---------------------------------------------------------------- offer operations


def _operation(op_type: int, operation_id: str | None) -> mesos_pb2.Offer.Operation:
    op = Operation(type=op_type)  # type: ignore[arg-type]
    if operation_id is not None:
        op.id.value = operation_id
    return op


def launch(task_infos: Iterable[mesos_pb2.TaskInfo]) -> mesos_pb2.Offer.Operation:
    op = _operation(Operation.LAUNCH, None)
    op.launch.SetInParent()
    op.launch.task_infos.extend(task_infos)
    return op


def launch_group(
    executor: mesos_pb2.ExecutorInfo, tasks: Iterable[mesos_pb2.TaskInfo]
) -> mesos_pb2.Offer.Operation:
    op = _operation(Operation.LAUNCH_GROUP, None)
    op.launch_group.executor.CopyFrom(executor)
    op.launch_group.task_group.SetInParent()
    op.launch_group.task_group.tasks.extend(tasks)
    return op


def reserve(
    resources: Iterable[mesos_pb2.Resource],
    source: Iterable[mesos_pb2.Resource] = (),
    operation_id: str | None = None,
) -> mesos_pb2.Offer.Operation:
    op = _operation(Operation.RESERVE, operation_id)
    op.reserve.SetInParent()
    op.reserve.resources.extend(resources)
    op.reserve.source.extend(source)
    return op


def unreserve(
    resources: Iterable[mesos_pb2.Resource], operation_id: str | None = None
) -> mesos_pb2.Offer.Operation:
    op = _operation(Operation.UNRESERVE, operation_id)
    op.unreserve.SetInParent()
    op.unreserve.resources.extend(resources)
    return op


def create(
    volumes: Iterable[mesos_pb2.Resource], operation_id: str | None = None
) -> mesos_pb2.Offer.Operation:
    """CREATE persistent volumes (disk resources with ``disk.persistence`` and ``disk.volume``)."""
    op = _operation(Operation.CREATE, operation_id)
    op.create.SetInParent()
    op.create.volumes.extend(volumes)
    return op


def destroy(
    volumes: Iterable[mesos_pb2.Resource], operation_id: str | None = None
) -> mesos_pb2.Offer.Operation:
    op = _operation(Operation.DESTROY, operation_id)
    op.destroy.SetInParent()
    op.destroy.volumes.extend(volumes)
    return op


# ---------------------------------------------------------------- tasks and executors


def kill(
    task_id: str,
    agent_id: str | None = None,
    grace_period_seconds: float | None = None,
    framework_id: str | None = None,
) -> scheduler_pb2.Call:
    call = _call(Call.KILL, framework_id)
    call.kill.task_id.value = task_id
    if agent_id is not None:
        call.kill.agent_id.value = agent_id
    if grace_period_seconds is not None:
        call.kill.kill_policy.grace_period.nanoseconds = round(grace_period_seconds * 1e9)
    return call


def shutdown(executor_id: str, agent_id: str, framework_id: str | None = None) -> scheduler_pb2.Call:
    call = _call(Call.SHUTDOWN, framework_id)
    call.shutdown.executor_id.value = executor_id
    call.shutdown.agent_id.value = agent_id
    return call


def acknowledge(
    agent_id: str, task_id: str, uuid: bytes, framework_id: str | None = None
) -> scheduler_pb2.Call:
    call = _call(Call.ACKNOWLEDGE, framework_id)
    call.acknowledge.agent_id.value = agent_id
    call.acknowledge.task_id.value = task_id
    call.acknowledge.uuid = uuid
    return call


def acknowledge_status(
    status: mesos_pb2.TaskStatus, framework_id: str | None = None
) -> scheduler_pb2.Call | None:
    """The ACKNOWLEDGE a status update needs, or None when it must not be acknowledged
    (no ``uuid``: reconciliation and other master-generated updates)."""
    if not status.HasField("uuid") or not status.HasField("agent_id"):
        return None
    return acknowledge(status.agent_id.value, status.task_id.value, status.uuid, framework_id)


def acknowledge_operation_status(
    operation_id: str,
    uuid: bytes,
    agent_id: str | None = None,
    resource_provider_id: str | None = None,
    framework_id: str | None = None,
) -> scheduler_pb2.Call:
    call = _call(Call.ACKNOWLEDGE_OPERATION_STATUS, framework_id)
    payload = call.acknowledge_operation_status
    payload.operation_id.value = operation_id
    payload.uuid = uuid
    if agent_id is not None:
        payload.agent_id.value = agent_id
    if resource_provider_id is not None:
        payload.resource_provider_id.value = resource_provider_id
    return call


def reconcile(
    tasks: Iterable[tuple[str, str | None]] = (), framework_id: str | None = None
) -> scheduler_pb2.Call:
    """RECONCILE ``(task_id, agent_id or None)`` pairs; no tasks = implicit reconciliation."""
    call = _call(Call.RECONCILE, framework_id)
    call.reconcile.SetInParent()
    for task_id, agent_id in tasks:
        entry = call.reconcile.tasks.add()
        entry.task_id.value = task_id
        if agent_id is not None:
            entry.agent_id.value = agent_id
    return call


def reconcile_operations(
    operations: Iterable[tuple[str, str | None]] = (), framework_id: str | None = None
) -> scheduler_pb2.Call:
    call = _call(Call.RECONCILE_OPERATIONS, framework_id)
    call.reconcile_operations.SetInParent()
    for operation_id, agent_id in operations:
        entry = call.reconcile_operations.operations.add()
        entry.operation_id.value = operation_id
        if agent_id is not None:
            entry.agent_id.value = agent_id
    return call


def message(
    agent_id: str, executor_id: str, data: bytes, framework_id: str | None = None
) -> scheduler_pb2.Call:
    call = _call(Call.MESSAGE, framework_id)
    call.message.agent_id.value = agent_id
    call.message.executor_id.value = executor_id
    call.message.data = data
    return call


# ---------------------------------------------------------------- resources


def scalar(name: str, value: float, allocation_role: str | None = None) -> mesos_pb2.Resource:
    """A scalar resource (rounded to Mesos' 3 decimals)."""
    res = mesos_pb2.Resource(name=name, type=mesos_pb2.Value.SCALAR)
    res.scalar.value = round(value, 3)
    _allocate_to(res, allocation_role)
    return res


def ranges(
    name: str, spans: Sequence[tuple[int, int]], allocation_role: str | None = None
) -> mesos_pb2.Resource:
    """A ranges resource, e.g. ``ranges("ports", [(31000, 31002)])`` (inclusive)."""
    res = mesos_pb2.Resource(name=name, type=mesos_pb2.Value.RANGES)
    res.ranges.SetInParent()
    for begin, end in spans:
        res.ranges.range.add(begin=begin, end=end)
    _allocate_to(res, allocation_role)
    return res


def set_resource(name: str, items: Iterable[str], allocation_role: str | None = None) -> mesos_pb2.Resource:
    res = mesos_pb2.Resource(name=name, type=mesos_pb2.Value.SET)
    res.set.SetInParent()
    res.set.item.extend(items)
    _allocate_to(res, allocation_role)
    return res


def _allocate_to(res: mesos_pb2.Resource, allocation_role: str | None) -> None:
    # MULTI_ROLE frameworks copy the offer's allocation role into launched resources.
    if allocation_role is not None:
        res.allocation_info.role = allocation_role
