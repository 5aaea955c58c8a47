"""The local master: frameworks, offers, tasks, failover, reconciliation. Synchronous logic;
events are queued onto subscriber streams, agents are called directly (same process)."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import uuid

from kafka_mesos.localmesos import allocator
from kafka_mesos.localmesos.agent import LocalAgent, command_executor_info
from kafka_mesos.localmesos.config import MESOS_VERSION, LocalMesosConfig
from kafka_mesos.localmesos.offer_json import OfferJsonCache
from kafka_mesos.localmesos.records import (
    AgentRecord,
    ExecutorRecord,
    FrameworkRecord,
    OfferRecord,
    TaskRecord,
    is_terminal,
)
from kafka_mesos.localmesos.resources import ResourceParseError, Resources
from kafka_mesos.localmesos.validation import (
    executor_infos_equal,
    validate_framework_info,
    validate_task_shape,
)
from kafka_mesos.localmesos.wire import JSON, EventStream
from kafka_mesos.mesos.pb import mesos_pb2 as mpb
from kafka_mesos.mesos.pb import scheduler_pb2 as spb

log = logging.getLogger(__name__)
MAX_COMPLETED_FRAMEWORKS = 50  # Mesos' --max_completed_frameworks
TaskStatus = mpb.TaskStatus
Event = spb.Event


def error_event(message: str) -> spb.Event:
    return Event(type=Event.ERROR, error=Event.Error(message=message))


class Master:
    def __init__(self, config: LocalMesosConfig) -> None:
        self.config = config
        self.id = str(uuid.uuid4())
        self.port = 0
        self.start_time = time.time()
        self.elected_time = self.start_time
        self.frameworks: dict[str, FrameworkRecord] = {}
        self.completed_frameworks: list[FrameworkRecord] = []
        self.removed_framework_ids: set[str] = set()
        self.agents: dict[str, AgentRecord] = {}
        self.offers: dict[str, OfferRecord] = {}
        self._framework_seq = 0
        self._offer_seq = 0
        self._agent_seq = 0
        self._rotation = 0
        self.allocation_cycles = 0
        self._offer_json = OfferJsonCache()

    # ------------------------------------------------------------------ identity

    def next_agent_id(self) -> str:
        agent_id = f"{self.id}-S{self._agent_seq}"
        self._agent_seq += 1
        return agent_id

    @property
    def pid(self) -> str:
        return f"master@{self.config.ip}:{self.port}"

    def master_info(self) -> mpb.MasterInfo:
        info = mpb.MasterInfo(
            id=self.id,
            ip=int.from_bytes(socket.inet_aton(self.config.ip), "little"),
            port=self.port,
            pid=self.pid,
            hostname=self.config.hostname,
            version=MESOS_VERSION,
        )
        info.address.hostname = self.config.hostname
        info.address.ip = self.config.ip
        info.address.port = self.port
        for name in ("AGENT_UPDATE", "AGENT_DRAINING", "QUOTA_V2"):
            info.capabilities.add(type=mpb.MasterInfo.Capability.Type.Value(name))
        return info

    # ------------------------------------------------------------------ agents

    def add_agent(self, agent: LocalAgent) -> AgentRecord:
        record = AgentRecord(agent.id, agent.index, agent, agent.resources, agent.attributes, time.time())
        self.agents[agent.id] = record
        return record

    def recover_agent(self, agent: LocalAgent) -> AgentRecord:
        """An agent re-registers with a new master (master failover): its executors and live tasks
        are known again; their frameworks are "recovered" until they re-subscribe."""
        record = self.add_agent(agent)
        for run in agent.runs.values():
            framework = self.frameworks.get(run.framework_id)
            if framework is None:
                info = mpb.FrameworkInfo()
                info.CopyFrom(run.framework_info)
                framework = FrameworkRecord(
                    run.framework_id, info, registered_time=time.time(), recovered=True
                )
                self.frameworks[run.framework_id] = framework
            role = _allocation_role(run.info.resources)
            executor = ExecutorRecord(
                run.info, framework.id, agent.id, role, Resources.from_pb(run.info.resources)
            )
            record.executors[(framework.id, run.executor_id)] = executor
            framework.executors[(agent.id, run.executor_id)] = executor
            for task_id, task in {**run.launched, **run.queued}.items():
                state = run.task_states.get(task_id, mpb.TASK_STAGING)
                if is_terminal(state) and not agent.updates.pending(framework.id, task_id):
                    continue
                resources = Resources.from_pb(task.resources)
                recovered = TaskRecord(task, framework.id, agent.id, run.executor_id, role, resources)
                recovered.state = state  # type: ignore[assignment]
                latest = run.latest.get(task_id)
                if latest is not None:
                    recovered.statuses.append(latest)
                    recovered.seen_uuids.add(latest.uuid)
                framework.tasks[task_id] = recovered
                record.tasks[(framework.id, task_id)] = recovered
        return record

    def remove_agent(self, agent_id: str) -> None:
        """The agent is gone: rescind its offers, its tasks are lost (unreachable for
        PARTITION_AWARE frameworks), frameworks get FAILURE."""
        record = self.agents.pop(agent_id, None)
        if record is None:
            return
        self._offer_json.forget_agent(agent_id)
        for offer in list(record.offers.values()):
            self._rescind(offer)
        for (framework_id, _), task in list(record.tasks.items()):
            framework = self.frameworks.get(framework_id)
            if framework is None or is_terminal(task.state):
                continue
            state = mpb.TASK_UNREACHABLE if framework.partition_aware else mpb.TASK_LOST
            status = self._master_status(
                task.task_id,
                agent_id,
                state,
                TaskStatus.REASON_AGENT_REMOVED,
                f"Agent {agent_id} removed: agent stopped",
            )
            task.state = state
            task.statuses.append(status)
            framework.tasks.pop(task.task_id, None)
            framework.complete_task(task)
            framework.send(Event(type=Event.UPDATE, update=Event.Update(status=status)))
        for framework in self.frameworks.values():
            for key in [k for k in framework.executors if k[0] == agent_id]:
                framework.executors.pop(key)
            failure = Event.Failure()
            failure.agent_id.value = agent_id
            framework.send(Event(type=Event.FAILURE, failure=failure))

    # ------------------------------------------------------------------ subscription

    def subscribe(self, call: spb.Call, stream: EventStream, stream_id: str) -> None:
        info = mpb.FrameworkInfo()
        info.CopyFrom(call.subscribe.framework_info)
        problem = validate_framework_info(info)
        framework_id = info.id.value if info.HasField("id") else None
        if problem is not None:
            stream.send(error_event(problem))
            stream.close()
            return
        if framework_id is not None and framework_id in self.removed_framework_ids:
            stream.send(error_event("Framework has been removed"))
            stream.close()
            return
        now = time.time()
        framework = self.frameworks.get(framework_id) if framework_id else None
        if framework is not None:
            if framework.stream is not None and framework.connected:
                framework.stream.send(error_event("Framework failed over"))
                framework.stream.close()
            info.user = framework.info.user
            info.checkpoint = framework.info.checkpoint
            framework.info = info
            if framework.failover_timer is not None:
                framework.failover_timer.cancel()
                framework.failover_timer = None
            for offer in list(framework.offers.values()):
                self._remove_offer(offer)
        else:
            if framework_id is None:
                framework_id = f"{self.id}-{self._framework_seq:04d}"
                self._framework_seq += 1
                info.id.value = framework_id
            framework = FrameworkRecord(framework_id, info, registered_time=now)
            self.frameworks[framework_id] = framework
        if framework.heartbeat_timer is not None:
            framework.heartbeat_timer.cancel()
        framework.stream, framework.stream_id = stream, stream_id
        framework.connected = framework.active = True
        framework.recovered = False
        framework.unregistered_time = 0.0
        framework.suppressed_roles = set(call.subscribe.suppressed_roles)
        subscribed = Event.Subscribed(heartbeat_interval_seconds=self.config.heartbeat_interval)
        subscribed.framework_id.value = framework.id
        subscribed.master_info.CopyFrom(self.master_info())
        stream.send(Event(type=Event.SUBSCRIBED, subscribed=subscribed))
        self._heartbeat(framework, stream)
        self.allocate([framework])
        for agent in self.agents.values():
            agent.agent.framework_resubscribed(framework.id)

    def _heartbeat(self, framework: FrameworkRecord, stream: EventStream) -> None:
        if framework.stream is not stream or not framework.connected:
            return
        stream.send(Event(type=Event.HEARTBEAT))
        loop = asyncio.get_running_loop()
        framework.heartbeat_timer = loop.call_later(
            self.config.heartbeat_interval, self._heartbeat, framework, stream
        )

    def stream_closed(self, stream: EventStream) -> None:
        """The scheduler closed its SUBSCRIBE connection: deactivate, start the failover timer."""
        framework = next((f for f in self.frameworks.values() if f.stream is stream), None)
        if framework is None:
            return
        framework.stream = None
        framework.connected = framework.active = False
        framework.unregistered_time = time.time()
        if framework.heartbeat_timer is not None:
            framework.heartbeat_timer.cancel()
            framework.heartbeat_timer = None
        for offer in list(framework.offers.values()):
            self._remove_offer(offer)
        timeout = framework.info.failover_timeout
        if timeout <= 0:
            self.remove_framework(framework.id)
        else:
            loop = asyncio.get_running_loop()
            framework.failover_timer = loop.call_later(timeout, self.remove_framework, framework.id)

    def remove_framework(self, framework_id: str) -> None:
        """TEARDOWN or failover timeout: executors get SHUTDOWN, tasks end TASK_KILLED."""
        framework = self.frameworks.pop(framework_id, None)
        if framework is None:
            return
        self.removed_framework_ids.add(framework_id)
        for timer in (framework.failover_timer, framework.heartbeat_timer):
            if timer is not None:
                timer.cancel()
        if framework.stream is not None:
            framework.stream.close()
        framework.connected = framework.active = False
        framework.stream = None
        framework.unregistered_time = framework.unregistered_time or time.time()
        for offer in list(framework.offers.values()):
            self._remove_offer(offer)
        for task in framework.tasks.values():
            if not is_terminal(task.state):
                task.state = mpb.TASK_KILLED
            framework.complete_task(task)
        framework.tasks.clear()
        for agent in self.agents.values():
            for key in [k for k in agent.tasks if k[0] == framework_id]:
                agent.tasks.pop(key)
            for key in [k for k in agent.executors if k[0] == framework_id]:
                agent.executors.pop(key)
            agent.agent.shutdown_framework(framework_id)
        framework.executors.clear()
        self.completed_frameworks.append(framework)
        del self.completed_frameworks[:-MAX_COMPLETED_FRAMEWORKS]

    def update_framework(self, framework: FrameworkRecord, update: spb.Call.UpdateFramework) -> str | None:
        info = update.framework_info
        for name in ("user", "checkpoint", "principal"):
            if info.HasField(name) and getattr(info, name) != getattr(framework.info, name):  # type: ignore[arg-type]
                return f"Updating 'FrameworkInfo.{name}' is unsupported"
        problem = validate_framework_info(info)
        if problem is not None:
            return problem
        framework.info.CopyFrom(info)
        framework.suppressed_roles = set(update.suppressed_roles)
        for offer in list(framework.offers.values()):
            if offer.role not in framework.roles():
                self._rescind(offer)
        return None

    # ------------------------------------------------------------------ offers

    def allocate(self, frameworks: list[FrameworkRecord] | None = None) -> None:
        if frameworks is None:
            self.allocation_cycles += 1
            candidates = [f for f in self.frameworks.values() if f.connected and f.active]
            if candidates:
                self._rotation = (self._rotation + 1) % len(candidates)
                frameworks = candidates[self._rotation :] + candidates[: self._rotation]
            else:
                frameworks = []
        now = asyncio.get_running_loop().time()
        made = allocator.allocate(
            frameworks,
            self.agents.values(),
            now,
            self._make_offer,
            self.config.min_allocatable_cpus,
            self.config.min_allocatable_mem,
        )
        for framework_id, offers in made.items():
            framework = self.frameworks[framework_id]
            if framework.stream is None or not framework.connected:
                continue
            if framework.stream.content_type == JSON:
                framework.stream.send_payload(self._offer_json.offers_event(offers, framework.multi_role))
            else:
                event = Event(type=Event.OFFERS)
                event.offers.offers.extend(o.message for o in offers)
                framework.stream.send(event)

    def _make_offer(
        self, framework: FrameworkRecord, agent: AgentRecord, role: str, res: Resources
    ) -> OfferRecord:
        offer_id = f"{self.id}-O{self._offer_seq}"
        self._offer_seq += 1
        message = mpb.Offer(hostname=agent.agent.hostname)
        message.id.value = offer_id
        message.framework_id.value = framework.id
        message.agent_id.value = agent.id
        message.url.scheme = "http"
        message.url.address.hostname = agent.agent.hostname
        message.url.address.ip = self.config.ip
        message.url.address.port = agent.agent.port
        message.url.path = "/slave(1)"
        multi_role = framework.multi_role
        message.resources.extend(res.to_pb(allocation_role=role if multi_role else None))
        message.attributes.extend(agent.attributes)
        for fid, executor_id in agent.executors:
            if fid == framework.id:
                message.executor_ids.add(value=executor_id)
        if multi_role:
            message.allocation_info.role = role
        offer = OfferRecord(offer_id, framework.id, agent.id, role, res, message)
        self.offers[offer_id] = offer
        agent.offers[offer_id] = offer
        framework.offers[offer_id] = offer
        return offer

    def _remove_offer(self, offer: OfferRecord) -> None:
        self.offers.pop(offer.id, None)
        agent = self.agents.get(offer.agent_id)
        if agent is not None:
            agent.offers.pop(offer.id, None)
        framework = self.frameworks.get(offer.framework_id)
        if framework is not None:
            framework.offers.pop(offer.id, None)

    def _rescind(self, offer: OfferRecord) -> None:
        self._remove_offer(offer)
        framework = self.frameworks.get(offer.framework_id)
        if framework is not None:
            rescind = Event.Rescind()
            rescind.offer_id.value = offer.id
            framework.send(Event(type=Event.RESCIND, rescind=rescind))

    def decline(self, framework: FrameworkRecord, decline: spb.Call.Decline) -> None:
        filters = decline.filters if decline.HasField("filters") else None
        for offer_id in decline.offer_ids:
            offer = framework.offers.get(offer_id.value)
            if offer is None:
                continue
            self._remove_offer(offer)
            self._refuse(framework, offer.agent_id, offer.role, offer.resources, filters)

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

    def revive(self, framework: FrameworkRecord, roles: list[str]) -> None:
        wanted = set(roles) or set(framework.roles())
        for key in [k for k in framework.filters if k[1] in wanted]:
            del framework.filters[key]
        framework.suppressed_roles -= wanted
        self.allocate([framework])

    def suppress(self, framework: FrameworkRecord, roles: list[str]) -> None:
        framework.suppressed_roles |= set(roles) or set(framework.roles())

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

    # ------------------------------------------------------------------ from agents (MasterLink)

    def forward_status_update(
        self, agent_id: str, framework_id: str, status: mpb.TaskStatus, latest_state: mpb.TaskState
    ) -> None:
        """The agent forwards a task's oldest unacknowledged update together with the state of its
        newest one (Mesos' `latest_state`): the master's task state, reconciliation answers and
        resource accounting follow the newest state."""
        framework = self.frameworks.get(framework_id)
        if framework is None:
            return
        task = framework.tasks.get(status.task_id.value)
        if task is not None:
            task.state = latest_state
            if status.uuid not in task.seen_uuids:
                task.seen_uuids.add(status.uuid)
                task.statuses.append(status)
        framework.send(Event(type=Event.UPDATE, update=Event.Update(status=status)))

    def executor_message(self, agent_id: str, framework_id: str, executor_id: str, data: bytes) -> None:
        framework = self.frameworks.get(framework_id)
        if framework is not None:
            message = Event.Message(data=data)
            message.agent_id.value = agent_id
            message.executor_id.value = executor_id
            framework.send(Event(type=Event.MESSAGE, message=message))

    def executor_exited(self, agent_id: str, framework_id: str, executor_id: str, status: int) -> None:
        agent = self.agents.get(agent_id)
        if agent is not None:
            agent.executors.pop((framework_id, executor_id), None)
        framework = self.frameworks.get(framework_id)
        if framework is None:
            return
        framework.executors.pop((agent_id, executor_id), None)
        failure = Event.Failure(status=status)
        failure.agent_id.value = agent_id
        failure.executor_id.value = executor_id
        framework.send(Event(type=Event.FAILURE, failure=failure))

    # ------------------------------------------------------------------ shutdown

    def close(self) -> None:
        for framework in self.frameworks.values():
            for timer in (framework.failover_timer, framework.heartbeat_timer):
                if timer is not None:
                    timer.cancel()
            if framework.stream is not None:
                framework.stream.close()


def _allocation_role(resources: object) -> str:
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
