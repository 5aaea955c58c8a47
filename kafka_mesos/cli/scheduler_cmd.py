"""`kafka-mesos.sh scheduler [options] [config.properties]`: builds Settings and runs the runtime."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from kafka_mesos.settings import OPTIONS, PROPERTIES_FILE, SettingsError, load_settings

_HELP: dict[str, str] = {
    "master": "Mesos master: local (embedded local Mesos, the default), HOST:PORT, http://HOST:PORT or "
              "zk://HOST:PORT/mesos",
    "zk": "Kafka's ZooKeeper: HOST:PORT[,HOST:PORT][/chroot] (zookeeper.connect of every broker)",
    "storage": "where the cluster state lives: file:kafka-mesos.json (default) or zk:/kafka-mesos",
    "api": "public URL of this scheduler's HTTP server (default http://127.0.0.1:7000; port 0 = any free)",
    "api-auth": "USER:PASSWORD: the API asks for HTTP basic auth (all but /health and the artifacts)",
    "api-token-file": "file holding a bearer token the API asks for (instead of --api-auth)",
    "bind-address": "address the HTTP server listens on (default: the host of --api)",
    "framework-name": "framework name, also the prefix of task ids (default kafka)",
    "framework-role": "Mesos role (default *)",
    "framework-timeout": "failover timeout (default 30d)",
    "principal": "Mesos principal for authentication",
    "secret": "Mesos secret for authentication",
    "user": "user the brokers run as (default: Mesos decides)",
    "kafka-dist": "Kafka distribution kafka_*.tgz (path or URL; default: kafka*.tgz in the working dir)",
    "executor-python": "Python interpreter on the agents that runs the executor (default python3)",
    "executor-cpus": "cpus of each executor on top of its broker's (default 0.01)",
    "executor-mem": "memory (MB) of each executor on top of its broker's (default 32)",
    "executor-scope": "agent (default): one executor per agent runs its brokers; broker: one executor each",
    "mesos-content-type": "protobuf (default) or json",
    "reconcile-interval": "periodic explicit reconciliation (default 5m)",
    "reconciliation-timeout": "first wait between reconciliation attempts, doubling (default 5s)",
    "reconciliation-attempts": "explicit reconciliation attempts before a task is declared lost (default 6)",
    "failover-stable-after": "RUNNING this long resets a broker's failure counter (default 1m)",
    "revive-interval": "minimum time between two REVIVE calls (default 1s)",
    "decline-seconds": "refuse filter for offers with nothing to launch (default 1h)",
    "stop-grace-period": "how long a broker gets to stop on SIGTERM before SIGKILL (default 30s)",
    "local-agents": "local Mesos: number of agents (default 3)",
    "local-port": "local Mesos: master port (default any free)",
    "local-resources": "local Mesos: resources of each agent",
    "local-attributes": "local Mesos: attributes of each agent ({n} = agent number)",
    "local-work-dir": "local Mesos: work dir (default a temporary dir)",
    "local-allocation-interval": "local Mesos: how often offers are made (default 200ms; real Mesos: 1s)",
    "log": "log file (default stderr)",
    "debug": "debug logging",
    "ha": "leader election and hot standby (default: on with --storage zk: and a --master other than local)",
    "zk-session-timeout": "ZooKeeper session timeout of the store and the leader election (default 10s)",
}


def _options(fn: Any) -> Any:
    for name in reversed(list(OPTIONS)):
        if name == "debug":
            fn = click.option("--debug", flag_value="true", default=None, help=_HELP[name])(fn)
        elif name == "ha":  # two switches, one value: "true", "false" or not given
            fn = click.option("--no-ha", "ha", flag_value="false", default=None, help="no election")(fn)
            fn = click.option("--ha", "ha", flag_value="true", default=None, help=_HELP[name])(fn)
        else:
            fn = click.option(f"--{name}", default=None, metavar="VALUE", help=_HELP.get(name))(fn)
    return fn


@click.command("scheduler", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("config", required=False, type=click.Path(path_type=Path))
@_options
def scheduler_command(config: Path | None, **given: str | None) -> None:
    """Run the kafka-mesos scheduler: REST API, Mesos framework and (by default) a local Mesos."""
    defaults = config if config is not None else Path(PROPERTIES_FILE)
    if defaults.is_file():
        click.echo(f"Loading config defaults from {defaults}", err=True)
    try:
        settings = load_settings({k.replace("_", "-"): v for k, v in given.items()}, config_file=config)
    except SettingsError as e:
        click.echo(f"Error: {e}", err=True)
        sys.exit(1)
    from kafka_mesos.runtime import run_scheduler  # the runtime pulls in aiohttp; only when we run it

    sys.exit(run_scheduler(settings))
