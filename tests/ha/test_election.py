"""Leader election against a real ZooKeeper: one leader, takeover, SUSPENDED/LOST, ZooKeeper restarts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from kazoo.recipe.election import Election

from kafka_mesos.state.election import LeaderElection, leader_node
from kafka_mesos.state.zkbridge import ZkBridge
from tests.support.ports import wait_until_async
from tests.support.zookeeper import ZkChroot, ZooKeeperServer, expire_session

pytestmark = pytest.mark.integration


class Contender:
    def __init__(self, hosts: str, path: str, name: str, session_timeout: float = 4.0) -> None:
        self.bridge = ZkBridge(hosts, session_timeout)
        self.name = name
        self.path = path
        self.election: LeaderElection | None = None
        self.changes: list[bool] = []

    async def start(self) -> LeaderElection:
        await self.bridge.start(30.0)
        self.election = LeaderElection(self.bridge, self.path, self.name)
        self.election.add_listener(self.changes.append)
        await self.election.start()
        return self.election

    async def stop(self) -> None:
        if self.election is not None:
            await self.election.stop()
        await self.bridge.stop()


@pytest.fixture
async def contenders(zk_chroot: ZkChroot) -> AsyncIterator[list[Contender]]:
    url = "http://127.0.0.1:{}".format
    made = [Contender(zk_chroot.connect_string, "/km/leader", url(7000 + i)) for i in range(3)]
    try:
        yield made
    finally:
        for contender in made:
            await contender.stop()


def test_leader_node_is_lowest_sequence() -> None:
    children = ["b__lock__0000000012", "a__lock__0000000010", "junk", "c__lock__0000000011"]
    assert leader_node(children) == "a__lock__0000000010"
    assert leader_node(["junk"]) is None


async def test_one_leader_and_everyone_knows_its_url(contenders: list[Contender]) -> None:
    first = await contenders[0].start()
    await wait_until_async(lambda: first.is_leader, timeout=30, message="first contender leads")
    others = [await c.start() for c in contenders[1:]]
    await wait_until_async(lambda: all(e.node for e in others), timeout=30, message="others queued")
    assert [e.is_leader for e in others] == [False, False]
    for election in [first, *others]:
        assert await election.leader() == "http://127.0.0.1:7000"
    # kazoo's own Election recipe sees the same contenders in the same order
    recipe = Election(contenders[0].bridge.client, "/km/leader")
    assert await asyncio.to_thread(recipe.contenders) == [c.name for c in contenders]


async def test_stop_hands_leadership_to_the_next(contenders: list[Contender]) -> None:
    first, second = await contenders[0].start(), await contenders[1].start()
    await wait_until_async(lambda: first.is_leader and second.node, timeout=30)
    assert not second.is_leader
    await contenders[0].stop()
    await wait_until_async(lambda: second.is_leader, timeout=30, message="second takes over")
    assert await second.leader() == contenders[1].name
    assert contenders[1].changes == [True]


async def test_expired_session_loses_leadership_for_good(
    contenders: list[Contender], zk_server: ZooKeeperServer
) -> None:
    first, second = await contenders[0].start(), await contenders[1].start()
    await wait_until_async(lambda: first.is_leader and second.node, timeout=30)
    await asyncio.to_thread(expire_session, contenders[0].bridge.client, zk_server)
    await wait_until_async(lambda: first.lost, timeout=30, message="first sees LOST")
    assert not first.is_leader
    assert contenders[0].changes[-1] is False
    await wait_until_async(lambda: second.is_leader, timeout=30, message="second takes over")
    with pytest.raises(RuntimeError):
        await first.wait_leading()
    assert not first.is_leader, "a new session of the old leader does not make it leader again"


async def test_zookeeper_restart_never_gives_two_leaders(zk_server_fresh: ZooKeeperServer) -> None:
    contenders = [Contender(zk_server_fresh.connect_string, "/km/leader", f"c{i}", session_timeout=6.0)
                  for i in range(2)]
    overlaps: list[str] = []
    try:
        first, second = await contenders[0].start(), await contenders[1].start()
        await wait_until_async(lambda: first.is_leader and second.node, timeout=30)

        def check(_: bool) -> None:
            if first.is_leader and second.is_leader:
                overlaps.append("both lead")

        first.add_listener(check)
        second.add_listener(check)
        await asyncio.to_thread(zk_server_fresh.stop)
        await wait_until_async(lambda: not first.is_leader, timeout=30, message="leader suspended")
        assert contenders[0].changes[-1] is False, "the leader was told at once"
        await asyncio.to_thread(zk_server_fresh.start)
        await wait_until_async(lambda: first.is_leader or second.is_leader, timeout=60, message="a leader")
        await asyncio.sleep(0)  # let queued state callbacks run before looking
        assert not (first.is_leader and second.is_leader)
        assert overlaps == []
        assert sum(c.election is not None and c.election.is_leader for c in contenders) == 1
    finally:
        for contender in contenders:
            await contender.stop()


async def test_a_standby_whose_session_expired_stays_in_the_race(
    contenders: list[Contender], zk_server: ZooKeeperServer
) -> None:
    first, second = await contenders[0].start(), await contenders[1].start()
    await wait_until_async(lambda: first.is_leader and second.node, timeout=30)
    old_node = second.node
    await asyncio.to_thread(expire_session, contenders[1].bridge.client, zk_server)
    await wait_until_async(lambda: second.node != old_node, timeout=30, message="a new node, new session")
    assert not second.lost and not second.is_leader and first.is_leader
    await contenders[0].stop()
    await wait_until_async(lambda: second.is_leader, timeout=30, message="the standby still takes over")


async def test_a_standby_leaves_promptly_while_zookeeper_is_down(zk_server_fresh: ZooKeeperServer) -> None:
    contenders = [Contender(zk_server_fresh.connect_string, "/km/leader", f"c{i}") for i in range(2)]
    try:
        first, second = await contenders[0].start(), await contenders[1].start()
        await wait_until_async(lambda: first.is_leader and second.node, timeout=30)
        await asyncio.to_thread(zk_server_fresh.stop)
        await wait_until_async(lambda: not first.is_leader, timeout=30, message="leader suspended")
        # neither the waiting standby nor the suspended leader may hang on the missing ZooKeeper
        await asyncio.wait_for(contenders[1].stop(), 30)
        await asyncio.wait_for(contenders[0].stop(), 30)
        assert not second.is_leader and not first.is_leader
    finally:
        for contender in contenders:
            await contender.stop()
