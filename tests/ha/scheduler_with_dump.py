"""`python -m kafka_mesos` for the HA tests, plus SIGUSR1: print every asyncio task's stack to stderr.

A scheduler that hangs on SIGTERM gets SIGUSR1 (then SIGABRT for the threads) from the tests, so the
failure shows what it was waiting for.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from types import FrameType


def dump_tasks(signum: int, frame: FrameType | None) -> None:
    try:
        tasks = asyncio.all_tasks()
    except RuntimeError:
        print("SIGUSR1: no running event loop", file=sys.stderr, flush=True)
        return
    print(f"SIGUSR1: {len(tasks)} asyncio tasks", file=sys.stderr, flush=True)
    for task in tasks:
        print(f"--- {task!r}", file=sys.stderr)
        task.print_stack(file=sys.stderr)
    sys.stderr.flush()


if __name__ == "__main__":
    signal.signal(signal.SIGUSR1, dump_tasks)
    from kafka_mesos.cli.main import main

    sys.exit(main())
