"""The master's task-side calls: ACCEPT with LAUNCH validated like Mesos, KILL, SHUTDOWN,
ACKNOWLEDGE, MESSAGE and RECONCILE. A mixin of `Master`, kept apart to keep modules short."""

from __future__ import annotations

import asyncio
import logging
import time

from kafka_mesos.localmesos import allocator
from kafka_mesos.localmesos.config import LocalMesosConfig
from kafka_mesos.localmesos.executor_run import command_executor_info
from kafka_mesos.localmesos.records import (
    AgentRecord,
    ExecutorRecord,
    FrameworkRecord,
    OfferRecord,
    TaskRecord,
    is_terminal,
)
from kafka_mesos.localmesos.resources import ResourceParseError, Resources
from kafka_mesos.localmesos.validation import executor_infos_equal, validate_task_shape
from kafka_mesos.mesos.pb import mesos_pb2 as mpb
from kafka_mesos.mesos.pb import scheduler_pb2 as spb

log = logging.getLogger(__name__)
TaskStatus = mpb.TaskStatus
Event = spb.Event


class TaskOperations:
    """Needs the master's bookkeeping (declared here, set by `Master.__init__`)."""

    config: LocalMesosConfig
    frameworks: dict[str, FrameworkRecord]
    agents: dict[str, AgentRecord]
    offers: dict[str, OfferRecord]

    def _remove_offer(self, offer: OfferRecord) -> None:
        self.offers.pop(offer.id, None)
        agent = self.agents.get(offer.agent_id)
        if agent is not None:
            agent.offers.pop(offer.id, None)
        framework = self.frameworks.get(offer.framework_id)
        if framework is not None:
            framework.offers.pop(offer.id, None)

    def _refuse(
        self,
        framework: FrameworkRecord,
        agent_id: str,
        role: str,
        res: Resources,
        filters: mpb.Filters | None,
    ) -> None:
        now = asyncio.get_running_loop().time()
        seconds = allocator.refuse_seconds(filters)
        allocator.add_filter(framework, agent_id, role, res, seconds, now, self.config.allocation_interval)

    # ------------------------------------------------------------------ accept / launch

    def accept(self, framework: FrameworkRecord, accept: spb.Call.Accept) -> None:
        offers, error = self._take_offers(framework, accept.offer_ids)
        tasks = [
            t
            for op in accept.operations
            if op.type == mpb.Offer.Operation.LAUNCH
            for t in op.launch.task_infos
        ]
        if error is not None:
            for task in tasks:
                state = mpb.TASK_DROPPED if framework.partition_aware else mpb.TASK_LOST
                self._send_master_update(
                    framework,
                    task.task_id.value,
                    task.agent_id.value,
                    state,
                    TaskStatus.REASON_INVALID_OFFERS,
                    f"Task launched with invalid offers: {error}",
                )
            return
        agent = self.agents[offers[0].agent_id]
        role = offers[0].role
        remaining = Resources()
        for offer in offers:
            remaining = remaining + offer.resources
        for operation in accept.operations:
            if operation.type == mpb.Offer.Operation.LAUNCH:
                for task in operation.launch.task_infos:
                    remaining = self._launch(framework, agent, role, task, remaining)
            elif operation.type == mpb.Offer.Operation.LAUNCH_GROUP:
                for task in operation.launch_group.task_group.tasks:
                    self._send_master_update(
                        framework,
                        task.task_id.value,
                        agent.id,
                        mpb.TASK_ERROR,
                        TaskStatus.REASON_TASK_GROUP_INVALID,
                        "LAUNCH_GROUP is not supported by the local Mesos",
                    )
            else:
                log.warning("local mesos ignores offer operation %s", operation.type)
        self._refuse(
            framework, agent.id, role, remaining, accept.filters if accept.HasField("filters") else None
        )

    def _take_offers(
        self, framework: FrameworkRecord, offer_ids: object
    ) -> tuple[list[OfferRecord], str | None]:
        offers: list[OfferRecord] = []
        error: str | None = None
        ids = [oid.value for oid in offer_ids]  # type: ignore[attr-defined]
        if not ids:
            error = "No offers specified"
        for offer_id in ids:
            offer = self.offers.get(offer_id)
            if offer is None or offer in offers:
                error = f"Offer {offer_id} is no longer valid"
            elif offer.framework_id != framework.id:
                error = (
                    f"Offer {offer_id} has invalid framework {offer.framework_id} "
                    f"while framework {framework.id} is expected"
                )
            elif offers and offer.agent_id != offers[0].agent_id:
                error = "Aggregated offers must belong to one single agent"
                offers.append(offer)
            else:
                offers.append(offer)
        for offer in offers:
            self._remove_offer(offer)
        if offers and offers[0].agent_id not in self.agents:
            error = error or f"Agent {offers[0].agent_id} is not available"
        return offers, error

    def _launch(
        self,
        framework: FrameworkRecord,
        agent: AgentRecord,
        role: str,
        task: mpb.TaskInfo,
        remaining: Resources,
    ) -> Resources:
        task_id = task.task_id.value
        problem = validate_task_shape(task, agent.id)
        needed = Resources()
        executor: mpb.ExecutorInfo | None = None
        if problem is None and task_id in framework.tasks:
            problem = f"Task has duplicate ID: {task_id}"
        if problem is None:
            try:
                needed = Resources.from_pb(task.resources)
                if task.HasField("executor"):
                    executor = mpb.ExecutorInfo()
                    executor.CopyFrom(task.executor)
                    problem = self._check_executor(framework, agent, executor)
                    if problem is None and (framework.id, executor.executor_id.value) not in agent.executors:
                        needed = needed + Resources.from_pb(executor.resources)
            except ResourceParseError as exc:
                problem = f"Task uses invalid resources: {exc}"
        if problem is None and task.HasField("command"):
            executor = command_executor_info(task, framework.id)
        if problem is None and not remaining.contains(needed):
            problem = f"Task uses more resources {needed.flatten()} than available {remaining.flatten()}"
        if problem is not None or executor is None:
            self._send_master_update(
                framework,
                task_id,
                agent.id,
                mpb.TASK_ERROR,
                TaskStatus.REASON_TASK_INVALID,
                problem or "invalid task",
            )
            return remaining
        task_resources = Resources.from_pb(task.resources)
        command_task = task.HasField("command")
        executor_id = None if command_task else executor.executor_id.value
        record = TaskRecord(task, framework.id, agent.id, executor_id, role, task_resources)
        framework.tasks[task_id] = record
        agent.tasks[(framework.id, task_id)] = record
        if command_task:  # the command executor's own resources are not accounted by the master
            agent.agent.launch(framework.info, _agent_command_task(task, role), executor)
            return remaining - needed
        key = (framework.id, executor.executor_id.value)
        if key not in agent.executors:
            executor_record = ExecutorRecord(
                executor, framework.id, agent.id, role, Resources.from_pb(executor.resources)
            )
            agent.executors[key] = executor_record
            framework.executors[(agent.id, executor.executor_id.value)] = executor_record
        agent.agent.launch(framework.info, _agent_task(task, executor, role), _agent_executor(executor, role))
        return remaining - needed

    def _check_executor(
        self, framework: FrameworkRecord, agent: AgentRecord, executor: mpb.ExecutorInfo
    ) -> str | None:
        if executor.HasField("framework_id") and executor.framework_id.value != framework.id:
            return "ExecutorInfo has an invalid FrameworkID"
        executor.framework_id.value = framework.id
        existing = agent.executors.get((framework.id, executor.executor_id.value))
        if existing is not None and not executor_infos_equal(existing.info, executor):
            return "ExecutorInfo is not compatible with existing ExecutorInfo"
        return None

    # ------------------------------------------------------------------ tasks

    def kill(self, framework: FrameworkRecord, kill: spb.Call.Kill) -> None:
        task = framework.tasks.get(kill.task_id.value)
        if task is None:
            agent_id = kill.agent_id.value if kill.HasField("agent_id") else None
            self._reconcile_unknown(framework, kill.task_id.value, agent_id)
            return
        agent = self.agents.get(task.agent_id)
        if agent is not None:
            policy = kill.kill_policy if kill.HasField("kill_policy") else None
            agent.agent.kill_task(framework.id, task.task_id, policy)

    def shutdown(self, framework: FrameworkRecord, shutdown: spb.Call.Shutdown) -> None:
        agent = self.agents.get(shutdown.agent_id.value)
        if agent is not None:
            agent.agent.shutdown_executor(framework.id, shutdown.executor_id.value)

    def acknowledge(self, framework: FrameworkRecord, ack: spb.Call.Acknowledge) -> None:
        agent = self.agents.get(ack.agent_id.value)
        if agent is None:
            return
        agent.agent.acknowledge(framework.id, ack.task_id.value, ack.uuid)
        task = framework.tasks.get(ack.task_id.value)
        if (
            task is not None
            and is_terminal(task.state)
            and any(s.uuid == ack.uuid and is_terminal(s.state) for s in task.statuses)
        ):
            framework.tasks.pop(task.task_id)
            agent.tasks.pop((framework.id, task.task_id), None)
            framework.complete_task(task)

    def message(self, framework: FrameworkRecord, message: spb.Call.Message) -> None:
        agent = self.agents.get(message.agent_id.value)
        if agent is not None:
            agent.agent.send_message(framework.id, message.executor_id.value, message.data)

    def reconcile(self, framework: FrameworkRecord, reconcile: spb.Call.Reconcile) -> None:
        if len(reconcile.tasks) == 0:
            for known in framework.tasks.values():
                self._reconcile_known(framework, known)
            return
        for item in reconcile.tasks:
            task = framework.tasks.get(item.task_id.value)
            if task is not None:
                self._reconcile_known(framework, task)
            else:
                agent_id = item.agent_id.value if item.HasField("agent_id") else None
                self._reconcile_unknown(framework, item.task_id.value, agent_id)

    def _reconcile_known(self, framework: FrameworkRecord, task: TaskRecord) -> None:
        status = self._master_status(
            task.task_id,
            task.agent_id,
            task.state,
            TaskStatus.REASON_RECONCILIATION,
            "Reconciliation: Latest task state",
        )
        if task.executor_id is not None:
            status.executor_id.value = task.executor_id
        latest = task.latest_status()
        if latest is not None:
            if latest.HasField("container_status"):
                status.container_status.CopyFrom(latest.container_status)
            if latest.HasField("healthy"):
                status.healthy = latest.healthy
        framework.send(Event(type=Event.UPDATE, update=Event.Update(status=status)))

    def _reconcile_unknown(self, framework: FrameworkRecord, task_id: str, agent_id: str | None) -> None:
        if agent_id is not None and agent_id in self.agents:
            state = mpb.TASK_GONE if framework.partition_aware else mpb.TASK_LOST
            message = "Reconciliation: Task is unknown to the agent"
        else:
            state = mpb.TASK_UNKNOWN if framework.partition_aware else mpb.TASK_LOST
            message = "Reconciliation: Task is unknown"
        self._send_master_update(
            framework, task_id, agent_id, state, TaskStatus.REASON_RECONCILIATION, message
        )

    def _master_status(
        self,
        task_id: str,
        agent_id: str | None,
        state: mpb.TaskState,
        reason: TaskStatus.Reason,
        message: str,
    ) -> mpb.TaskStatus:
        status = mpb.TaskStatus(state=state, message=message, source=TaskStatus.SOURCE_MASTER, reason=reason)
        status.task_id.value = task_id
        if agent_id:
            status.agent_id.value = agent_id
        status.timestamp = time.time()
        return status

    def _send_master_update(
        self,
        framework: FrameworkRecord,
        task_id: str,
        agent_id: str | None,
        state: mpb.TaskState,
        reason: TaskStatus.Reason,
        message: str,
    ) -> None:
        status = self._master_status(task_id, agent_id, state, reason, message)
        framework.send(Event(type=Event.UPDATE, update=Event.Update(status=status)))


def allocation_role(resources: object) -> str:
    for res in resources:  # type: ignore[attr-defined]
        if res.HasField("allocation_info"):
            return str(res.allocation_info.role)
    return "*"


def _to_agent_resources(resources: object, role: str) -> None:
    """Offers carry `role`; the agent's view carries `allocation_info` (and reservations)."""
    for res in resources:  # type: ignore[attr-defined]
        reserved = res.role if res.HasField("role") else "*"
        res.ClearField("role")
        if reserved != "*" and len(res.reservations) == 0:
            res.reservations.add(type=mpb.Resource.ReservationInfo.STATIC, role=reserved)
        if not res.HasField("allocation_info"):
            res.allocation_info.role = role


def _agent_command_task(task: mpb.TaskInfo, role: str) -> mpb.TaskInfo:
    copy = mpb.TaskInfo()
    copy.CopyFrom(task)
    _to_agent_resources(copy.resources, role)
    return copy


def _agent_executor(executor: mpb.ExecutorInfo, role: str) -> mpb.ExecutorInfo:
    copy = mpb.ExecutorInfo()
    copy.CopyFrom(executor)
    _to_agent_resources(copy.resources, role)
    return copy


def _agent_task(task: mpb.TaskInfo, executor: mpb.ExecutorInfo, role: str) -> mpb.TaskInfo:
    copy = mpb.TaskInfo()
    copy.CopyFrom(task)
    copy.executor.CopyFrom(_agent_executor(executor, role))
    _to_agent_resources(copy.resources, role)
    return copy
