"""How long the local Mesos takes to build (and encode) one OFFERS event for 200 agents.

Starts a real LocalMesos with 200 agents (each with its own executor endpoint on loopback), subscribes
a framework in-process, and times `Master.allocate()` for that framework: offer bookkeeping, the
Offer messages and the RecordIO-framed event in the subscriber's encoding. Prints the median and
worst of N rounds for protobuf and JSON. Target: < 100 ms.

    .venv/bin/python bench/offers_200_agents.py [--agents 200] [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from kafka_mesos.localmesos.cluster import LocalMesos
from kafka_mesos.localmesos.config import LocalMesosConfig
from kafka_mesos.localmesos.wire import JSON, PROTOBUF, EventStream
from kafka_mesos.mesos.pb import mesos_pb2 as mpb
from kafka_mesos.mesos.pb import scheduler_pb2 as spb


async def measure(agents: int, rounds: int) -> None:
    config = LocalMesosConfig(agents=agents, allocation_interval=3600.0, heartbeat_interval=3600.0)
    started = time.perf_counter()
    async with LocalMesos(config) as mesos:
        print(f"{agents} agents started in {time.perf_counter() - started:.2f} s")
        for content_type in (PROTOBUF, JSON):
            call = spb.Call(type=spb.Call.SUBSCRIBE)
            call.subscribe.framework_info.CopyFrom(
                mpb.FrameworkInfo(user="bench", name=f"bench-{content_type}")
            )
            stream = EventStream(content_type)
            mesos.master.subscribe(call, stream, "bench-stream")
            framework = next(f for f in mesos.master.frameworks.values() if f.stream is stream)
            timings: list[float] = []
            size = 0
            for _ in range(rounds):
                for offer in list(framework.offers.values()):
                    mesos.master._remove_offer(offer)
                begin = time.perf_counter()
                mesos.master.allocate([framework])
                timings.append((time.perf_counter() - begin) * 1000.0)
                assert len(framework.offers) == agents
                size = stream._queue.qsize()
                while not stream._queue.empty():
                    record = stream._queue.get_nowait()
                    size = len(record or b"")
            print(
                f"{content_type:24s} OFFERS with {agents} offers: "
                f"median {statistics.median(timings):6.1f} ms, "
                f"worst {max(timings):6.1f} ms, event {size / 1024:.0f} KiB"
            )
            mesos.master.remove_framework(framework.id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(measure(args.agents, args.rounds))


if __name__ == "__main__":
    main()
