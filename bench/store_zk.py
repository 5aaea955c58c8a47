"""ZooKeeper backend: a batch add of 10,000 brokers, and per-broker update latency vs a raw kazoo `set`.

Starts its own ZooKeeper (Debian's package, via tests/support) on a free loopback port, then measures:
- `ZkStore.put_brokers` of 10,000 new broker records (all or nothing; chunked under ZooKeeper's 1 MB
  request limit), and the same through `ClusterState.add` (adds Broker→dict and the in-memory apply);
- `ZkStore.load()` of those 10,000 records (what a scheduler restart costs);
- the latency of one versioned single-broker write (`ZkStore.put_brokers`, which is a multi-op
  transaction with the change marker, and `ClusterState.mutate`) against a plain kazoo `set` of the
  same bytes on the same server: p50 and p99 over N writes.
Target (issue #3): the 10,000-broker batch add under 2 s.

    .venv/bin/python bench/store_zk.py [--brokers 10000] [--rounds 3] [--updates 500]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kazoo.client import KazooClient  # noqa: E402

from kafka_mesos.core.model import Broker  # noqa: E402
from kafka_mesos.state import BrokerWrite, ClusterState  # noqa: E402
from kafka_mesos.state.zkstore import ZkStore  # noqa: E402
from tests.support.zookeeper import ZooKeeperServer  # noqa: E402


def sample_broker(broker_id: int) -> Broker:
    """A broker as `add 1000..1019 --cpus 0.01 --heap 128 --mem 256 --options num.io.threads=1` makes it."""
    return Broker(id=broker_id, cpus=0.01, heap=128, mem=256, options={"num.io.threads": "1"})


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process `pid` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """Wall clock plus CPU used by this process (all threads) and by the ZooKeeper JVM: on a busy machine
    the wall clock includes waiting for a CPU, the CPU seconds do not."""

    def __init__(self, zookeeper_pid: int) -> None:
        self.zookeeper_pid = zookeeper_pid

    def __enter__(self) -> CpuMeter:
        self.wall = time.perf_counter()
        self.client = time.process_time()
        self.server = process_cpu(self.zookeeper_pid)
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.client = time.process_time() - self.client
        self.server = process_cpu(self.zookeeper_pid) - self.server

    def __str__(self) -> str:
        return f"{self.wall:.2f} s (cpu: client {self.client:.2f} s, zookeeper {self.server:.2f} s)"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


async def batch_add(connect: str, zookeeper_pid: int, brokers: int, rounds: int) -> None:
    records = [sample_broker(i).to_dict() for i in range(brokers)]
    size = sum(len(json.dumps(r, separators=(",", ":"))) for r in records)
    print(f"records: {brokers}, {size / brokers:.0f} bytes each, {size / 1e6:.1f} MB in all")
    for round_ in range(rounds):
        store = ZkStore(connect, f"/bench-store-{round_}")
        await store.open()
        with CpuMeter(zookeeper_pid) as put:
            await store.put_brokers([BrokerWrite(r["id"], r, None) for r in records])
        with CpuMeter(zookeeper_pid) as load:
            snapshot = await store.load()
        assert len(snapshot.brokers) == brokers
        await store.close()

        cluster = await ClusterState.open(ZkStore(connect, f"/bench-cluster-{round_}"))
        new = [sample_broker(i) for i in range(brokers)]
        with CpuMeter(zookeeper_pid) as add:
            await cluster.add(new)
        await cluster.close()
        print(f"round {round_ + 1}{' (cold JVM)' if round_ == 0 else ''}:")
        print(f"  batch add of {brokers}, ZkStore.put_brokers: {put}")
        print(f"  batch add of {brokers}, ClusterState.add:    {add}")
        print(f"  load of {brokers}, ZkStore.load:             {load}")


async def update_latency(connect: str, updates: int) -> None:
    store = ZkStore(connect, "/bench-latency")
    await store.open()
    record = sample_broker(1).to_dict()
    version = (await store.put_brokers([BrokerWrite(1, record, None)]))[1]
    assert version is not None
    payload = json.dumps(record, separators=(",", ":")).encode()
    store_latency: list[float] = []
    for i in range(updates):
        record["cpus"] = 0.01 + i / 1e6
        started = time.perf_counter()
        version = (await store.put_brokers([BrokerWrite(1, record, version)]))[1]
        store_latency.append(time.perf_counter() - started)
        assert version is not None
    await store.close()

    cluster = await ClusterState.open(ZkStore(connect, "/bench-latency-cluster"))
    await cluster.add([sample_broker(1)])
    cluster_latency: list[float] = []
    for i in range(updates):
        started = time.perf_counter()
        await cluster.mutate([1], lambda b, i=i: dataclasses.replace(b, cpus=0.01 + i / 1e6))
        cluster_latency.append(time.perf_counter() - started)
    await cluster.close()

    client = KazooClient(hosts=connect)
    client.start()
    client.create("/bench-raw/1", payload, makepath=True)
    raw_latency: list[float] = []
    for _ in range(updates):
        started = time.perf_counter()
        client.set("/bench-raw/1", payload)
        raw_latency.append(time.perf_counter() - started)
    client.stop()
    client.close()

    print(f"single-broker update latency over {updates} writes ({len(payload)} bytes):")
    for name, values in (
        ("ZkStore.put_brokers (CAS multi)", store_latency),
        ("ClusterState.mutate", cluster_latency),
        ("raw kazoo set", raw_latency),
    ):
        print(
            f"  {name:34s} p50 {ms(statistics.median(values))}  p99 {ms(percentile(values, 0.99))}"
            f"  max {ms(max(values))}"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--brokers", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--updates", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-zk-") as directory:
        server = ZooKeeperServer(Path(directory))
        await asyncio.to_thread(server.start)
        try:
            print(f"ZooKeeper at {server.connect_string} (data in {directory})")
            assert server.pid is not None
            await batch_add(server.connect_string, server.pid, args.brokers, args.rounds)
            await update_latency(server.connect_string, args.updates)
        finally:
            await asyncio.to_thread(server.stop)


if __name__ == "__main__":
    asyncio.run(main())
