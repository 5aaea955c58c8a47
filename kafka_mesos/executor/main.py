"""Entry point of the executor process (``python -m kafka_mesos.executor`` or the zipapp)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from kafka_mesos.executor.broker_executor import BrokerExecutor
from kafka_mesos.executor.options import ExecutorOptionError, linger_from_environ
from kafka_mesos.mesos.executor_session import JSON, PROTOBUF, ExecutorEnv, ExecutorEnvError, SessionEnd

EXIT_CODES = {
    SessionEnd.STOPPED: 0,
    SessionEnd.AGENT_GONE: 0,
    SessionEnd.RECOVERY_TIMEOUT: 2,
    SessionEnd.REJECTED: 3,
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kafka-mesos-executor", description="Runs Kafka brokers for Mesos.")
    parser.add_argument("--content-type", choices=("protobuf", "json"), default="protobuf",
                        help="encoding of calls and events on the agent's executor API")
    parser.add_argument("--log-level", default=os.environ.get("KAFKA_MESOS_EXECUTOR_LOG_LEVEL", "INFO"))
    return parser.parse_args(argv)


async def run(env: ExecutorEnv, content_type: str, linger: float = 0.0) -> int:
    executor = BrokerExecutor(env, content_type, linger=linger)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, executor.request_shutdown)
    try:
        end = await executor.run()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    return EXIT_CODES[end]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        env = ExecutorEnv.from_environ(os.environ)
        linger = linger_from_environ(os.environ)
    except (ExecutorEnvError, ExecutorOptionError) as exc:
        print(f"kafka-mesos-executor: {exc}", file=sys.stderr)
        return 64
    logging.getLogger(__name__).info(
        "executor %s of framework %s starting (python %s, pid %d, linger %gs)",
        env.executor_id, env.framework_id, sys.version.split()[0], os.getpid(), linger,
    )
    return asyncio.run(run(env, JSON if args.content_type == "json" else PROTOBUF, linger))
