"""The local Mesos (master + agents) as a process of its own, with fault controls for tests/faults.

    python -m tests.faults.mesos_process --work-dir DIR [--agents 3] [--heartbeat-interval 1]

Prints `master http://127.0.0.1:<port>` when ready. Controls (each answered by one line on stdout):
- SIGUSR1: master failover (`restart_master`) → `master restarted <n>`;
- SIGUSR2: the agent whose id is in `<work-dir>/stop-agent` dies (`stop_agent`) → `agent stopped <id>`;
- SIGSTOP/SIGCONT from outside: the master (and its agents) hang — a network partition as the scheduler
  sees it;
- SIGTERM: clean stop.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from kafka_mesos.localmesos.cluster import LocalMesos
from kafka_mesos.localmesos.config import LocalMesosConfig


async def serve(work_dir: Path, agents: int, heartbeat: float, ports_base: int, ports_per_agent: int) -> None:
    # every agent its own port range: they share 127.0.0.1, where real agents would be separate hosts
    per_agent = {i: f"cpus:4;mem:8192;disk:20480;ports:[{ports_base + i * ports_per_agent}-"
                    f"{ports_base + (i + 1) * ports_per_agent - 1}]" for i in range(agents)}
    config = LocalMesosConfig(port=0, agents=agents, heartbeat_interval=heartbeat, allocation_interval=0.2,
                              agent_resources=per_agent,
                              work_dir=work_dir, executor_shutdown_grace_period=2.0,
                              status_update_retry_initial=1.0, status_update_retry_max=5.0)
    mesos = LocalMesos(config)
    await mesos.start()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    controls: asyncio.Queue[str] = asyncio.Queue()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, controls.put_nowait, "restart")
    loop.add_signal_handler(signal.SIGUSR2, controls.put_nowait, "stop-agent")
    print(f"master {mesos.master_url}", flush=True)
    restarts = 0

    async def control() -> None:
        nonlocal restarts
        while True:
            what = await controls.get()
            if what == "restart":
                await mesos.restart_master()
                restarts += 1
                print(f"master restarted {restarts}", flush=True)
            else:
                agent_id = (work_dir / "stop-agent").read_text().strip()
                index = next(i for i, agent in enumerate(mesos.agents) if agent.id == agent_id)
                await mesos.stop_agent(index)
                print(f"agent stopped {agent_id}", flush=True)

    worker = asyncio.create_task(control())
    try:
        await stop.wait()
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await mesos.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work-dir", type=Path, required=True)
    parser.add_argument("--agents", type=int, default=3)
    parser.add_argument("--heartbeat-interval", type=float, default=1.0)
    parser.add_argument("--ports-base", type=int, required=True)
    parser.add_argument("--ports-per-agent", type=int, default=100)
    args = parser.parse_args()
    args.work_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(serve(args.work_dir, args.agents, args.heartbeat_interval, args.ports_base,
                      args.ports_per_agent))


if __name__ == "__main__":
    main()
