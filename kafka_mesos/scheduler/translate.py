"""Protobuf ↔ core: Mesos offers become core offers; launch decisions become TaskInfo with our executor.

Nothing else in the scheduler builds protobuf messages by hand except the call builders of the wire layer;
core never sees protobuf.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kafka_mesos.core.model import Broker
from kafka_mesos.core.offers import Offer
from kafka_mesos.core.ranges import Range
from kafka_mesos.core.resources import Resources, Taken
from kafka_mesos.kafka.launch import EXECUTOR_LINGER_ENV, LaunchSpec
from kafka_mesos.mesos.pb import mesos_pb2

EXECUTOR_FILE = "kafka-mesos-executor.pyz"


@dataclass(frozen=True)
class LaunchContext:
    """What every launch shares: where the executor and Kafka come from, and the framework's names."""

    framework_name: str
    api_url: str
    zk_connect: str
    executor_python: str = "python3"
    executor_cpus: float = 0.01
    executor_mem: float = 32.0
    executor_file: str = EXECUTOR_FILE
    dist_name: str = ""
    dist_url: str | None = None  # None: served by our API under /files/<dist_name>
    dist_top_dir: str = ""
    stop_grace_period: float = 30.0
    user: str | None = None
    shared_executor: bool = False  # one executor per agent runs every broker placed there

    def file_url(self, name: str) -> str:
        return f"{self.api_url.rstrip('/')}/files/{name}"

    @property
    def executor_url(self) -> str:
        return self.file_url(self.executor_file)

    @property
    def kafka_url(self) -> str:
        return self.dist_url or self.file_url(self.dist_name)


@dataclass(frozen=True)
class Placement:
    """One broker placed on one offer: what the launch takes from it (per role)."""

    broker_id: int
    task_id: str
    offer_id: str
    agent_id: str
    hostname: str
    port: int
    role: str = "*"
    attributes: tuple[tuple[str, str], ...] = ()
    task_resources: tuple[Taken, ...] = ()
    executor_resources: tuple[Taken, ...] = ()
    executor_id: str = ""  # the task id when the broker has an executor of its own


def _attribute_text(attribute: mesos_pb2.Attribute) -> str:
    if attribute.HasField("text"):
        return attribute.text.value
    if attribute.HasField("scalar"):
        return f"{attribute.scalar.value:g}"
    if attribute.HasField("ranges"):
        return ",".join(f"{r.begin}-{r.end}" for r in attribute.ranges.range)
    if attribute.HasField("set"):
        return ",".join(attribute.set.item)
    return ""


def _is_dynamically_reserved(resource: mesos_pb2.Resource) -> bool:
    if len(resource.reservations) > 0:
        return any(r.type == mesos_pb2.Resource.ReservationInfo.DYNAMIC for r in resource.reservations)
    return resource.HasField("reservation")


@dataclass
class _RoleShare:
    cpus: float = 0.0
    mem: float = 0.0
    disk: float = 0.0
    ports: list[Range] = field(default_factory=list)


def core_offer(offer: mesos_pb2.Offer) -> Offer:
    """The parts of a Mesos offer matching looks at: per-role cpus/mem/disk/ports, attributes, volumes."""
    shares: dict[str, _RoleShare] = {}
    volumes: dict[str, str] = {}
    for resource in offer.resources:
        role = _role_of(resource)
        if resource.name == "disk" and resource.disk.HasField("persistence"):
            volumes[resource.disk.persistence.id] = role
            continue
        if _is_dynamically_reserved(resource):
            continue  # mesos/kafka: only unreserved and statically reserved resources are used
        share = shares.setdefault(role, _RoleShare())
        if resource.name == "cpus":
            share.cpus += resource.scalar.value
        elif resource.name == "mem":
            share.mem += resource.scalar.value
        elif resource.name == "disk":
            share.disk += resource.scalar.value
        elif resource.name == "ports":
            share.ports.extend(Range(r.begin, r.end) for r in resource.ranges.range)
    resources = {role: Resources(cpus=x.cpus, mem=x.mem, disk=x.disk, ports=tuple(x.ports))
                 for role, x in shares.items()}
    return Offer(id=offer.id.value, agent_id=offer.agent_id.value, hostname=offer.hostname,
                 attributes={a.name: _attribute_text(a) for a in offer.attributes}, resources=resources,
                 volumes=volumes)


def _role_of(resource: mesos_pb2.Resource) -> str:
    if len(resource.reservations) > 0:
        return resource.reservations[-1].role or "*"
    return resource.role or "*"


def _scalar(name: str, value: float, role: str) -> mesos_pb2.Resource:
    scalar = mesos_pb2.Value.Scalar(value=round(value, 3))
    return mesos_pb2.Resource(name=name, type=mesos_pb2.Value.SCALAR, scalar=scalar, role=role)


def _taken_resources(taken: tuple[Taken, ...]) -> list[mesos_pb2.Resource]:
    out: list[mesos_pb2.Resource] = []
    for part in taken:
        if part.cpus:
            out.append(_scalar("cpus", part.cpus, part.role))
        if part.mem:
            out.append(_scalar("mem", part.mem, part.role))
        out.extend(_port_range(port, part.role) for port in part.ports)
    return out


def _port_range(port: int, role: str) -> mesos_pb2.Resource:
    return mesos_pb2.Resource(
        name="ports", type=mesos_pb2.Value.RANGES,
        ranges=mesos_pb2.Value.Ranges(range=[mesos_pb2.Value.Range(begin=port, end=port)]), role=role,
    )


def substitute_id(text: str, broker_id: int) -> str:
    """mesos/kafka's `$id` placeholder in option values and JVM options."""
    return text.replace("$id", str(broker_id))


def launch_spec(ctx: LaunchContext, broker: Broker, placement: Placement) -> LaunchSpec:
    # A None option value means "remove this key from the distribution's server.properties"; the launch
    # contract carries only set values, so such keys are simply not sent.
    options = {k: substitute_id(v, broker.id) for k, v in broker.options.items() if v is not None}
    log4j = {k: substitute_id(v, broker.id) for k, v in broker.log4j_options.items() if v is not None}
    return LaunchSpec(
        broker_id=broker.id,
        zookeeper_connect=ctx.zk_connect,
        port=placement.port,
        advertised_hostname=placement.hostname,
        heap_mb=broker.heap,
        options=options,
        log4j_options=log4j,
        jvm_options=substitute_id(broker.jvm_options or "", broker.id),
        bind_address=broker.bind_address,
        dist_archive=ctx.dist_name,
        dist_dir=ctx.dist_top_dir,
        stop_grace_seconds=ctx.stop_grace_period,
    )


SHARED_EXECUTOR_LINGER_SECONDS = 5.0
"""A shared executor whose last broker ended waits this long for another LAUNCH before it exits: a task
launched onto it just then still finds it (the scheduler only reuses an executor with a live broker)."""


def _executor_command(
    ctx: LaunchContext, variables: list[mesos_pb2.Environment.Variable]
) -> mesos_pb2.CommandInfo:
    command = mesos_pb2.CommandInfo(
        # `exec` so that the executor is the process the agent signals, not a shell around it.
        value=f"exec {ctx.executor_python} {ctx.executor_file}",
        shell=True,
        uris=[
            # The executor's URL stays the same across scheduler versions: a cached copy could be stale.
            mesos_pb2.CommandInfo.URI(value=ctx.executor_url, extract=False, executable=False, cache=False),
            # The distribution's name carries its version: the agent's fetcher cache downloads it once.
            mesos_pb2.CommandInfo.URI(value=ctx.kafka_url, extract=True, executable=False, cache=True),
        ],
        environment=mesos_pb2.Environment(variables=variables),
    )
    if ctx.user:
        command.user = ctx.user
    return command


def _executor_resources(ctx: LaunchContext, placement: Placement) -> list[mesos_pb2.Resource]:
    if placement.executor_resources:
        return _taken_resources(placement.executor_resources)
    role = placement.role
    return [_scalar("cpus", ctx.executor_cpus, role), _scalar("mem", ctx.executor_mem, role)]


def _shutdown_grace(ctx: LaunchContext) -> mesos_pb2.DurationInfo:
    return mesos_pb2.DurationInfo(nanoseconds=int((ctx.stop_grace_period + 5.0) * 1e9))


def broker_executor_info(ctx: LaunchContext, broker: Broker, placement: Placement) -> mesos_pb2.ExecutorInfo:
    """The executor of one broker's task alone (executor id = task id, as mesos/kafka does)."""
    tag = mesos_pb2.Environment.Variable(name="MESOS_SYSLOG_TAG", value=f"{ctx.framework_name}-{broker.id}")
    return mesos_pb2.ExecutorInfo(
        type=mesos_pb2.ExecutorInfo.CUSTOM,
        executor_id=mesos_pb2.ExecutorID(value=placement.task_id),
        name=f"broker-{broker.id}",
        source=f"{ctx.framework_name}.broker.{broker.id}",
        command=_executor_command(ctx, [tag]),
        resources=_executor_resources(ctx, placement),
        shutdown_grace_period=_shutdown_grace(ctx),
    )


def shared_executor_info(
    ctx: LaunchContext, executor_id: str, placement: Placement
) -> mesos_pb2.ExecutorInfo:
    """The executor that runs every broker of this framework placed on one agent. Mesos wants the very
    same ExecutorInfo for each task launched onto it: keep it and pass it to :func:`task_info`."""
    variables = [
        mesos_pb2.Environment.Variable(name="MESOS_SYSLOG_TAG", value=f"{ctx.framework_name}-executor"),
        mesos_pb2.Environment.Variable(name=EXECUTOR_LINGER_ENV,
                                       value=f"{SHARED_EXECUTOR_LINGER_SECONDS:g}"),
    ]
    return mesos_pb2.ExecutorInfo(
        type=mesos_pb2.ExecutorInfo.CUSTOM,
        executor_id=mesos_pb2.ExecutorID(value=executor_id),
        name="brokers",
        source=f"{ctx.framework_name}.executor",
        command=_executor_command(ctx, variables),
        resources=_executor_resources(ctx, placement),
        shutdown_grace_period=_shutdown_grace(ctx),
    )


def task_info(ctx: LaunchContext, broker: Broker, placement: Placement,
              executor: mesos_pb2.ExecutorInfo | None = None) -> mesos_pb2.TaskInfo:
    """A TaskInfo for `broker` run by `executor` (by default an executor of its own)."""
    role = placement.role
    if executor is None:
        executor = broker_executor_info(ctx, broker, placement)
    return mesos_pb2.TaskInfo(
        name=f"{ctx.framework_name}-{broker.id}",
        task_id=mesos_pb2.TaskID(value=placement.task_id),
        agent_id=mesos_pb2.AgentID(value=placement.agent_id),
        resources=(_taken_resources(placement.task_resources) if placement.task_resources
                   else [_scalar("cpus", broker.cpus, role), _scalar("mem", broker.mem, role),
                         _port_range(placement.port, role)]),
        executor=executor,
        data=launch_spec(ctx, broker, placement).to_bytes(),
        kill_policy=mesos_pb2.KillPolicy(
            grace_period=mesos_pb2.DurationInfo(nanoseconds=int(ctx.stop_grace_period * 1e9))
        ),
    )
