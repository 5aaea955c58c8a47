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


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


async def batch_add(connect: str, brokers: int, rounds: int) -> None:
    records = [sample_broker(i).to_dict() for i in range(brokers)]
    size = sum(len(json.dumps(r, separators=(",", ":"))) for r in records)
    print(f"records: {brokers}, {size / brokers:.0f} bytes each, {size / 1e6:.1f} MB in all")
    store_times: list[float] = []
    load_times: list[float] = []
    cluster_times: list[float] = []
    for round_ in range(rounds):
        store = ZkStore(connect, f"/bench-store-{round_}")
        await store.open()
        started = time.perf_counter()
        await store.put_brokers([BrokerWrite(r["id"], r, None) for r in records])
        store_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        snapshot = await store.load()
        load_times.append(time.perf_counter() - started)
        assert len(snapshot.brokers) == brokers
        await store.close()

        cluster = await ClusterState.open(ZkStore(connect, f"/bench-cluster-{round_}"))
        new = [sample_broker(i) for i in range(brokers)]
        started = time.perf_counter()
        await cluster.add(new)
        cluster_times.append(time.perf_counter() - started)
        await cluster.close()
    print(f"batch add of {brokers} (ZkStore.put_brokers):  " + ", ".join(f"{t:.2f} s" for t in store_times))
    print(f"batch add of {brokers} (ClusterState.add):     " + ", ".join(f"{t:.2f} s" for t in cluster_times))
    print(f"load of {brokers} (ZkStore.load):              " + ", ".join(f"{t:.2f} s" for t in load_times))


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
            await batch_add(server.connect_string, args.brokers, args.rounds)
            await update_latency(server.connect_string, args.updates)
        finally:
            await asyncio.to_thread(server.stop)


if __name__ == "__main__":
    asyncio.run(main())
