"""`kafka-mesos.sh local-mesos`: run a local Mesos master with N agents until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import click

from kafka_mesos.localmesos.cluster import LocalMesos
from kafka_mesos.localmesos.config import DEFAULT_ATTRIBUTES, DEFAULT_RESOURCES, LocalMesosConfig
from kafka_mesos.localmesos.port_shares import per_agent_resources
from kafka_mesos.localmesos.resources import ResourceParseError, Resources, parse_attributes
from kafka_mesos.localmesos.zk_registration import parse_zk_url


def _index_overrides(values: tuple[str, ...], option: str) -> dict[int, str]:
    overrides: dict[int, str] = {}
    for value in values:
        index, sep, text = value.partition("=")
        if not sep or not index.strip().isdigit():
            raise click.BadParameter(f"expected <agent index>=<value>, got '{value}'", param_hint=option)
        overrides[int(index)] = text
    return overrides


def validate_config(config: LocalMesosConfig) -> LocalMesosConfig:
    """Parse every agent's resources/attributes and the zk URL up front: bad input is one line."""
    try:
        for index in range(config.agents):
            Resources.parse(config.resources_for(index))
            parse_attributes(config.attributes_for(index))
        if config.zk is not None:
            parse_zk_url(config.zk)
    except (ResourceParseError, ValueError) as exc:
        raise click.BadParameter(str(exc)) from exc
    return config


async def _serve(config: LocalMesosConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    cluster = LocalMesos(config)
    await cluster.start()
    try:
        click.echo(f"local Mesos master: {cluster.master_url}")
        for agent in cluster.agents:
            click.echo(f"  agent {agent.id} on {config.ip}:{agent.port}")
        await stop.wait()
    finally:
        await cluster.stop()


@click.command("local-mesos")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=5050,
    show_default=True,
    help="Master port on 127.0.0.1 (0 = any free port).",
)
@click.option("--agents", type=click.IntRange(1, 10000), default=3, show_default=True)
@click.option(
    "--resources",
    default=DEFAULT_RESOURCES,
    show_default=True,
    help="Agent resources in Mesos syntax; {n} is the agent index.",
)
@click.option(
    "--attributes",
    default=DEFAULT_ATTRIBUTES,
    show_default=True,
    help="Agent attributes in Mesos syntax; {n} is the agent index.",
)
@click.option(
    "--agent-resources",
    multiple=True,
    metavar="N=RESOURCES",
    help="Resources of agent N instead of --resources (repeatable).",
)
@click.option(
    "--agent-attributes",
    multiple=True,
    metavar="N=ATTRIBUTES",
    help="Attributes of agent N instead of --attributes (repeatable).",
)
@click.option(
    "--agent-hostname",
    "agent_hostnames",
    multiple=True,
    metavar="N=HOSTNAME",
    help="Host name agent N advertises in offers instead of --hostname (repeatable; names only, "
    "everything binds 127.0.0.1).",
)
@click.option("--zk", default=None, help="Register the master in ZooKeeper, e.g. zk://127.0.0.1:2181/mesos.")
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Sandboxes go here (default: a temporary directory removed on exit).",
)
@click.option(
    "--heartbeat-interval",
    type=click.FloatRange(min=0.1),
    default=15.0,
    show_default=True,
    help="Seconds between HEARTBEAT events.",
)
@click.option(
    "--allocation-interval",
    type=click.FloatRange(min=0.01),
    default=1.0,
    show_default=True,
    help="Seconds between offer allocations.",
)
@click.option(
    "--executor-registration-timeout",
    type=click.FloatRange(min=0.1),
    default=60.0,
    show_default=True,
    help="Seconds an executor has to SUBSCRIBE.",
)
@click.option(
    "--offer-timeout",
    type=click.FloatRange(min=0.01),
    default=None,
    help="Rescind offers not answered within this many seconds (Mesos' --offer_timeout; default never).",
)
@click.option("--hostname", default="127.0.0.1", show_default=True, help="Host name advertised in offers.")
def local_mesos_command(
    port: int,
    agents: int,
    resources: str,
    attributes: str,
    agent_resources: tuple[str, ...],
    agent_attributes: tuple[str, ...],
    agent_hostnames: tuple[str, ...],
    zk: str | None,
    work_dir: Path | None,
    heartbeat_interval: float,
    allocation_interval: float,
    executor_registration_timeout: float,
    offer_timeout: float | None,
    hostname: str,
) -> None:
    """Run a local Mesos master with AGENTS agents on loopback until SIGINT/SIGTERM."""
    config = validate_config(
        LocalMesosConfig(
            port=port,
            agents=agents,
            resources=resources,
            attributes=attributes,
            # The agents share this host: each offers its own share of the ports unless told otherwise.
            agent_resources={
                **per_agent_resources(resources, agents),
                **_index_overrides(agent_resources, "--agent-resources"),
            },
            agent_attributes=_index_overrides(agent_attributes, "--agent-attributes"),
            agent_hostnames=_index_overrides(agent_hostnames, "--agent-hostname"),
            zk=zk,
            work_dir=work_dir,
            heartbeat_interval=heartbeat_interval,
            allocation_interval=allocation_interval,
            executor_registration_timeout=executor_registration_timeout,
            offer_timeout=offer_timeout,
            hostname=hostname,
        )
    )
    try:
        asyncio.run(_serve(config))
    except OSError as exc:
        raise click.ClickException(f"cannot start the local Mesos: {exc}") from exc
