"""The master's v0 `/state` JSON (hand-written layout, not the proto mapping), as in captures/state.json."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kafka_mesos.localmesos.config import MESOS_VERSION, format_duration
from kafka_mesos.localmesos.records import AgentRecord, FrameworkRecord, OfferRecord, TaskRecord
from kafka_mesos.localmesos.resources import UNRESERVED, Resources, attribute_value
from kafka_mesos.mesos import codec
from kafka_mesos.mesos.pb import mesos_pb2 as mpb

if TYPE_CHECKING:
    from kafka_mesos.localmesos.master import Master

AGENT_CAPABILITIES = [
    "MULTI_ROLE",
    "HIERARCHICAL_ROLE",
    "RESERVATION_REFINEMENT",
    "RESOURCE_PROVIDER",
    "RESIZE_VOLUME",
    "AGENT_OPERATION_FEEDBACK",
    "AGENT_DRAINING",
    "TASK_RESOURCE_LIMITS",
]


def master_state(master: Master) -> dict[str, Any]:
    config = master.config
    return {
        "version": MESOS_VERSION,
        "git_sha": "",
        "git_branch": "",
        "build_date": "",
        "build_time": 0.0,
        "build_user": "",
        "start_time": master.start_time,
        "elected_time": master.elected_time,
        "id": master.id,
        "pid": master.pid,
        "hostname": config.hostname,
        "capabilities": ["AGENT_UPDATE", "AGENT_DRAINING", "QUOTA_V2"],
        "activated_slaves": float(sum(1 for a in master.agents.values() if a.active)),
        "deactivated_slaves": float(sum(1 for a in master.agents.values() if not a.active)),
        "unreachable_slaves": 0.0,
        "leader": master.pid,
        "leader_info": {"id": master.id, "pid": master.pid, "port": master.port, "hostname": config.hostname},
        "flags": {
            "allocation_interval": format_duration(config.allocation_interval),
            "hostname": config.hostname,
            "ip": config.ip,
            "port": str(master.port),
            "registry": "in_memory",
            "min_allocatable_resources": (
                f"cpus:{config.min_allocatable_cpus:g}|mem:{config.min_allocatable_mem:g}"
            ),
            **({"zk": config.zk} if config.zk else {}),
        },
        "slaves": [_agent(a) for a in master.agents.values()],
        "recovered_slaves": [],
        "frameworks": [_framework(f, master) for f in master.frameworks.values()],
        "completed_frameworks": [_framework(f, master) for f in master.completed_frameworks],
        "orphan_tasks": [],
        "unregistered_frameworks": [],
    }


def _agent(agent: AgentRecord) -> dict[str, Any]:
    reserved: dict[str, Resources] = {}
    for (name, role), value in agent.total:
        if role != UNRESERVED:
            reserved[role] = reserved.get(role, Resources()) + Resources.of({(name, role): value})
    return {
        "id": agent.id,
        "hostname": agent.agent.hostname,
        "port": agent.agent.port,
        "attributes": {a.name: attribute_value(a) for a in agent.attributes},
        "pid": agent.agent.pid,
        "registered_time": agent.registered_time,
        "resources": agent.total.flatten(),
        "used_resources": agent.used().flatten(),
        "offered_resources": agent.offered().flatten(),
        "reserved_resources": {role: res.flatten() for role, res in reserved.items()},
        "unreserved_resources": agent.total.for_roles({UNRESERVED}).flatten(),
        "active": agent.active,
        "deactivated": not agent.active,
        "version": MESOS_VERSION,
        "capabilities": AGENT_CAPABILITIES,
    }


def _framework(framework: FrameworkRecord, master: Master) -> dict[str, Any]:
    info = framework.info
    used, offered = Resources(), Resources()
    for task in framework.tasks.values():
        used = used + task.resources
    for executor in framework.executors.values():
        used = used + executor.resources
    for offer in framework.offers.values():
        offered = offered + offer.resources
    out: dict[str, Any] = {
        "id": framework.id,
        "name": info.name,
        "used_resources": used.flatten(),
        "offered_resources": offered.flatten(),
        "capabilities": [mpb.FrameworkInfo.Capability.Type.Name(c.type) for c in info.capabilities],
        "hostname": info.hostname,
        "webui_url": info.webui_url,
        "active": framework.active,
        "connected": framework.connected,
        "recovered": framework.recovered,
        "user": info.user,
        "failover_timeout": info.failover_timeout,
        "checkpoint": info.checkpoint,
        "registered_time": framework.registered_time,
        "unregistered_time": framework.unregistered_time,
        "resources": (used + offered).flatten(),
    }
    if info.HasField("principal"):
        out["principal"] = info.principal
    if framework.multi_role:
        out["roles"] = list(info.roles)
    else:
        out["role"] = framework.roles()[0]
    out["tasks"] = [_task(t) for t in framework.tasks.values()]
    out["unreachable_tasks"] = []
    out["completed_tasks"] = [_task(t) for t in framework.completed_tasks]
    out["offers"] = [_offer(o) for o in framework.offers.values()]
    out["executors"] = [_executor(e.info, e.agent_id, e.resources) for e in framework.executors.values()]
    if info.HasField("labels"):
        out["labels"] = codec.message_to_dict(info.labels).get("labels", [])
    out["offer_constraints"] = {}
    return out


def _task(task: TaskRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": task.task_id,
        "name": task.info.name,
        "framework_id": task.framework_id,
        "executor_id": task.executor_id or "",
        "slave_id": task.agent_id,
        "state": mpb.TaskState.Name(task.state),  # type: ignore[arg-type]
        "resources": task.resources.flatten(),
        "role": task.role,
        "statuses": [_status(s) for s in task.statuses],
    }
    if task.info.HasField("labels"):
        out["labels"] = codec.message_to_dict(task.info.labels).get("labels", [])
    return out


def _status(status: mpb.TaskStatus) -> dict[str, Any]:
    out: dict[str, Any] = {
        "state": mpb.TaskState.Name(status.state),  # type: ignore[arg-type]
        "timestamp": status.timestamp,
    }
    if status.HasField("healthy"):
        out["healthy"] = status.healthy
    if status.HasField("container_status"):
        container = codec.message_to_dict(status.container_status, emit_defaults=True)
        container.pop("executor_pid", None)
        out["container_status"] = container
    return out


def _offer(offer: OfferRecord) -> dict[str, Any]:
    return {
        "id": offer.id,
        "framework_id": offer.framework_id,
        "allocation_info": {"role": offer.role},
        "slave_id": offer.agent_id,
        "resources": offer.resources.flatten(),
    }


def _executor(info: mpb.ExecutorInfo, agent_id: str, resources: Resources) -> dict[str, Any]:
    command = info.command
    flattened = resources.flatten()
    return {
        "executor_id": info.executor_id.value,
        "name": info.name,
        "framework_id": info.framework_id.value,
        "command": {
            "shell": command.shell,
            "value": command.value,
            "argv": list(command.arguments),
            "uris": [{"value": u.value, "executable": u.executable} for u in command.uris],
        },
        "resources": flattened,
        "role": UNRESERVED,
        "type": mpb.ExecutorInfo.Type.Name(info.type) if info.HasField("type") else "CUSTOM",
        "slave_id": agent_id,
    }
