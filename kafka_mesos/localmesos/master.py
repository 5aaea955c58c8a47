"""The local master: frameworks, offers, tasks, failover, reconciliation. Synchronous logic;
events are queued onto subscriber streams, agents are called directly (same process)."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import uuid

from kafka_mesos.localmesos import allocator
from kafka_mesos.localmesos.agent import LocalAgent
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
from kafka_mesos.localmesos.resources import Resources
from kafka_mesos.localmesos.task_operations import TaskOperations, allocation_role
from kafka_mesos.localmesos.validation import validate_framework_info
from kafka_mesos.localmesos.wire import JSON, EventStream
from kafka_mesos.mesos.pb import mesos_pb2 as mpb
from kafka_mesos.mesos.pb import scheduler_pb2 as spb

log = logging.getLogger(__name__)
MAX_COMPLETED_FRAMEWORKS = 50  # Mesos' --max_completed_frameworks
TaskStatus = mpb.TaskStatus
Event = spb.Event


def error_event(message: str) -> spb.Event:
    return Event(type=Event.ERROR, error=Event.Error(message=message))


class Master(TaskOperations):
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
            role = allocation_role(run.info.resources)
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

    def agent_restarted(self, agent_id: str, lost: list[tuple[str, str]]) -> None:
        """The agent came back after a restart: offers made before are rescinded; tasks of frameworks
        without checkpointing did not survive (TASK_LOST, TASK_GONE if PARTITION_AWARE)."""
        record = self.agents.get(agent_id)
        if record is None:
            return
        for offer in list(record.offers.values()):
            self._rescind(offer)
        for framework_id, task_id in lost:
            framework = self.frameworks.get(framework_id)
            task = framework.tasks.get(task_id) if framework is not None else None
            if framework is None or task is None:
                continue
            state = mpb.TASK_GONE if framework.partition_aware else mpb.TASK_LOST
            status = self._master_status(
                task_id,
                agent_id,
                state,
                TaskStatus.REASON_AGENT_RESTARTED,
                "Agent restarted; the task of a framework without checkpointing is gone",
            )
            task.state = state
            task.statuses.append(status)
            framework.tasks.pop(task_id)
            record.tasks.pop((framework_id, task_id), None)
            framework.complete_task(task)
            framework.send(Event(type=Event.UPDATE, update=Event.Update(status=status)))

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
        if self.config.offer_timeout is not None:
            loop = asyncio.get_running_loop()
            loop.call_later(self.config.offer_timeout, self._offer_timed_out, offer_id)
        return offer

    def _offer_timed_out(self, offer_id: str) -> None:
        offer = self.offers.get(offer_id)
        if offer is not None:
            self._rescind(offer)

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

    def revive(self, framework: FrameworkRecord, roles: list[str]) -> None:
        wanted = set(roles) or set(framework.roles())
        for key in [k for k in framework.filters if k[1] in wanted]:
            del framework.filters[key]
        framework.suppressed_roles -= wanted
        self.allocate([framework])

    def suppress(self, framework: FrameworkRecord, roles: list[str]) -> None:
        framework.suppressed_roles |= set(roles) or set(framework.roles())

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
