"""SchedulerSession with a zk:// master: follows the leader registered in a real ZooKeeper."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from kafka_mesos.mesos import errors
from kafka_mesos.mesos.scheduler_session import SchedulerSession

from .fake_master import FakeMaster
from .test_wire_master import master_info_json
from .test_wire_session import FAST, Recorder, finish, framework_info

pytestmark = pytest.mark.integration


async def register(zk: Any, master: FakeMaster) -> str:
    node: str = await asyncio.to_thread(
        zk.create,
        "/mesos/json.info_",
        master_info_json("127.0.0.1", master.port),
        ephemeral=True,
        sequence=True,
        makepath=True,
    )
    return node


async def test_session_follows_leader_change(zk_chroot: Any, zk: Any) -> None:
    first, second = await FakeMaster().start(), await FakeMaster().start()
    try:
        first_node = await register(zk, first)
        await register(zk, second)
        recorder = Recorder()
        session = SchedulerSession(
            f"zk://{zk_chroot.connect_string}/mesos",
            framework_info(),
            recorder,
            backoff=FAST,
            rng=random.Random(3),
        )
        runner = asyncio.create_task(session.run())
        await recorder.wait_for(lambda: session.connected, deadline=30)
        assert session.master_url == first.base_url and not second.subscribes

        await asyncio.to_thread(zk.delete, first_node)
        await recorder.wait_for(lambda: len(second.subscribes) == 1 and session.connected, deadline=30)
        await recorder.wait_for(
            lambda: session.master_url == second.base_url and session.connected, deadline=30
        )
        assert isinstance(recorder.disconnects[0], errors.LeaderChanged)
        resubscribe = second.subscribes[0].call
        assert resubscribe.framework_id.value == "fw-0000"
        assert resubscribe.subscribe.framework_info.id.value == "fw-0000"
        await finish(session, runner)
    finally:
        await first.stop()
        await second.stop()


async def test_stop_while_the_master_detector_connects_waits_and_closes_it(zk_chroot: Any) -> None:
    """stop() right after run() began (the detector's ZooKeeper client still connecting in its thread)
    returns only once that client is closed; the leak check fails the test on a live ZooKeeper socket."""
    session = SchedulerSession(f"zk://{zk_chroot.connect_string}/mesos", framework_info(), Recorder())
    runner = asyncio.create_task(session.run())
    await asyncio.sleep(0)  # run() is now inside the detector's start
    await asyncio.wait_for(session.stop(), 30)
    assert runner.done()
    await runner


async def test_cancel_while_the_master_detector_connects_closes_it(zk_chroot: Any) -> None:
    session = SchedulerSession(f"zk://{zk_chroot.connect_string}/mesos", framework_info(), Recorder())
    runner = asyncio.create_task(session.run())
    await asyncio.sleep(0)  # run() is now inside the detector's start
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    detector = session._source
    assert getattr(detector, "_client", "gone") is None  # stop() ran and dropped its client
