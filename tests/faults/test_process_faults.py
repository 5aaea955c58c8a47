"""Faults of the processes under the scheduler, on one shared cluster (3 brokers, local Mesos as its own
process): kill -9 an executor, kill -9 a broker, SIGSTOP a broker, an agent lost, the master failing
over, and the master paused (the scheduler partitioned from it). Each case ends with the invariant."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from kazoo.client import KazooClient

from tests.faults.cluster import FaultCluster, kill, wait_gone
from tests.support.ports import wait_until
from tests.support.zookeeper import ZooKeeperServer, kazoo_client

pytestmark = [pytest.mark.integration, pytest.mark.allow_leaks("processes")]

IDS = "0..2"


@pytest.fixture(scope="module")
def zk_connect(zk_server: ZooKeeperServer) -> Iterator[str]:
    chroot = f"/faults-{id(zk_server) % 100000}-processes"
    with kazoo_client(zk_server.connect_string) as admin:
        admin.ensure_path(chroot)
        try:
            yield zk_server.connect_string + chroot
        finally:
            admin.delete(chroot, recursive=True)


@pytest.fixture(scope="module")
def zk(zk_connect: str) -> Iterator[KazooClient]:
    with kazoo_client(zk_connect) as client:
        yield client


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, zk_connect: str, zk: KazooClient
) -> Iterator[FaultCluster]:
    fault_cluster = FaultCluster(tmp_path_factory.mktemp("faults"), zk_connect)
    fault_cluster.start_mesos()
    try:
        fault_cluster.start_scheduler()
        fault_cluster.add_and_start(IDS)
        fault_cluster.wait_invariant(zk)
        yield fault_cluster
        fault_cluster.api.cli("stop", IDS, "--timeout", "120s", timeout=180)
        wait_until(lambda: not fault_cluster.broker_pids() and not fault_cluster.executor_pids(), timeout=60,
                   message="brokers and executors gone after stop")
    finally:
        fault_cluster.stop()


def test_kill_9_an_executor(cluster: FaultCluster, zk: KazooClient) -> None:
    """With a shared executor, every broker it ran goes with it (Mesos ends the container) and each one
    comes back as a new task."""
    task = cluster.task_of(0)
    (executor,) = cluster.executor_pids(task)
    brokers = cluster.api.brokers()
    executor_id = brokers[0]["task"]["executorId"]
    hosted = {i: b["task"]["id"] for i, b in brokers.items()
              if b.get("task") and b["task"]["executorId"] == executor_id}
    assert 0 in hosted
    kill(executor)
    wait_gone(executor)

    def all_relaunched() -> bool:
        now = cluster.api.brokers()
        return all(now[i].get("task", {}).get("id") not in (None, old) for i, old in hosted.items())

    wait_until(all_relaunched, timeout=120, message=f"brokers {sorted(hosted)} relaunched as new tasks")
    cluster.wait_invariant(zk)
    for old in hosted.values():
        assert not cluster.broker_pids(old), "no broker outlived its executor"


def test_kill_9_a_broker(cluster: FaultCluster, zk: KazooClient) -> None:
    task = cluster.task_of(1)
    (broker,) = cluster.broker_pids(task)
    kill(broker)
    wait_until(lambda: cluster.api.brokers()[1].get("task", {}).get("id") != task, timeout=120,
               message="broker 1 relaunched as a new task")
    cluster.wait_invariant(zk)
    assert not cluster.broker_pids(task)


def test_sigstop_a_broker_then_stop_and_start_it(cluster: FaultCluster, zk: KazooClient) -> None:
    """A hung broker is not relaunched behind the operator's back (no second broker with the same id), and
    stop still works: the executor's grace period ends in SIGKILL, which a stopped process obeys."""
    task = cluster.task_of(2)
    (broker,) = cluster.broker_pids(task)
    kill(broker, signal.SIGSTOP)
    try:
        assert cluster.live_tasks()[task]["state"] == "TASK_RUNNING"
        assert cluster.task_of(2) == task, "a hung broker is not relaunched beside itself"
        stopped = cluster.api.cli("stop", "2", "--timeout", "60s", timeout=120)
        assert "stopped" in stopped.stdout, stopped.stdout + stopped.stderr
        wait_gone(broker)
    finally:
        try:
            kill(broker, signal.SIGCONT)
        except ProcessLookupError:
            pass
    cluster.api.cli("start", "2", "--timeout", "120s", timeout=180)
    assert cluster.task_of(2) != task
    cluster.wait_invariant(zk)


def test_agent_lost(cluster: FaultCluster, zk: KazooClient) -> None:
    tasks = cluster.live_tasks()
    task = cluster.task_of(0)
    agent = tasks[task]["slave_id"]
    lost = {t for t, info in tasks.items() if info["slave_id"] == agent}
    (cluster.workdir / "mesos-run" / "mesos" / "stop-agent").write_text(agent)
    cluster.signal_mesos(signal.SIGUSR2)
    cluster.mesos_says(f"agent stopped {agent}")

    def relaunched_elsewhere() -> bool:
        current = {b.get("task", {}).get("id") for b in cluster.api.brokers().values()}
        return None not in current and not current & lost

    wait_until(relaunched_elsewhere, timeout=120, message="the lost agent's brokers relaunched")
    cluster.wait_invariant(zk)
    assert all(info["slave_id"] != agent for info in cluster.live_tasks().values())


def test_master_failover(cluster: FaultCluster, zk: KazooClient) -> None:
    before = {i: cluster.task_of(i) for i in range(3)}
    subscriptions = cluster.api.process.errors().count("subscribed as framework")
    cluster.signal_mesos(signal.SIGUSR1)
    cluster.mesos_says("master restarted 1")
    wait_until(lambda: cluster.api.process.errors().count("subscribed as framework") > subscriptions,
               timeout=120, message="the scheduler re-subscribed")
    cluster.wait_invariant(zk)
    assert {i: cluster.task_of(i) for i in range(3)} == before, "the running tasks were kept, not relaunched"


def test_partition_from_the_master(cluster: FaultCluster, zk: KazooClient) -> None:
    """The master process paused (SIGSTOP): the scheduler misses heartbeats and the API stays up; while
    cut off, a change of the operator is kept; after SIGCONT it re-subscribes and all converges."""
    before = {i: cluster.task_of(i) for i in range(3)}
    subscriptions = cluster.api.process.errors().count("subscribed as framework")
    disconnects = cluster.api.process.errors().count("disconnected from Mesos")
    cluster.signal_mesos(signal.SIGSTOP)
    try:
        wait_until(lambda: cluster.api.process.errors().count("disconnected from Mesos") > disconnects,
                   timeout=90, message="the scheduler noticed the missing heartbeats")
        listed = cluster.api.cli("broker", "list")
        assert "id: 0" in listed.stdout, "the API answers while Mesos is unreachable"
    finally:
        cluster.signal_mesos(signal.SIGCONT)
    wait_until(lambda: cluster.api.process.errors().count("subscribed as framework") > subscriptions,
               timeout=120, message="the scheduler re-subscribed")
    cluster.wait_invariant(zk)
    assert {i: cluster.task_of(i) for i in range(3)} == before
