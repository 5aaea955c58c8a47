"""The composition root (see runtime.py) and the `scheduler` command's entry point."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from kafka_mesos.settings import Settings

__all__ = ["run_scheduler"]


def _configure_logging(settings: Settings) -> None:
    handler: logging.Handler = (logging.FileHandler(settings.log) if settings.log
                                else logging.StreamHandler(sys.stderr))
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if settings.debug else logging.INFO)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("kazoo").setLevel(logging.WARNING)


async def serve(settings: Settings) -> int:
    """Run the scheduler until SIGINT/SIGTERM (or a fatal error). Prints one ready line on stdout."""
    from kafka_mesos.runtime.runtime import SchedulerRuntime, StartupError

    runtime = SchedulerRuntime(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, runtime.request_stop)
    try:
        try:
            await runtime.start()
        except StartupError as e:
            print(f"Error: {e}", file=sys.stderr)
            return 1
        print(f"kafka-mesos scheduler ready: api {runtime.api_url} master {runtime.master_url}", flush=True)
        code = await runtime.wait()
        await runtime.stop()
        return code
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def run_scheduler(settings: Settings) -> int:
    _configure_logging(settings)
    return asyncio.run(serve(settings))
