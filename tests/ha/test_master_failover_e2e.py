"""`--master zk://…/mesos` end to end: the scheduler follows the leading Mesos master registered in ZooKeeper.

Two local Mesos processes register in the same ZooKeeper path; the first one leads. When it stops, the
second one (another port) becomes the leading master and the scheduler re-subscribes there with its
framework id, then launches brokers through it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ha.procs import master_state, start_ha_scheduler, start_local_mesos, stop_all
from tests.support.ports import wait_until
from tests.support.standin import build_standin_dist
from tests.support.zookeeper import ZkChroot

pytestmark = pytest.mark.integration


def framework_on(master: str, framework_id: str) -> dict[str, object] | None:
    for framework in master_state(master)["frameworks"]:
        if framework["id"] == framework_id and framework["connected"]:
            return dict(framework)
    return None


def test_scheduler_follows_the_leading_master(tmp_path: Path, zk_chroot: ZkChroot) -> None:
    dist = build_standin_dist(tmp_path / "dist")
    zk = zk_chroot.connect_string
    master = f"zk://{zk}/mesos"
    first_mesos, first_url = start_local_mesos(tmp_path, "mesos-1", master, agents=1)
    second_mesos = None
    scheduler = None
    try:
        scheduler = start_ha_scheduler(tmp_path, "scheduler", zk=zk, master=master, dist=dist)
        wait_until(lambda: scheduler.health()["scheduler"]["connected"], timeout=60, message="subscribed")
        framework_id = str(scheduler.health()["scheduler"]["frameworkId"])
        assert framework_on(first_url, framework_id)

        second_mesos, second_url = start_local_mesos(tmp_path, "mesos-2", master, agents=1)
        assert second_url != first_url
        assert master_state(second_url)["frameworks"] == [], "a master that does not lead sees no framework"

        first_mesos.stop()
        found = wait_until(lambda: framework_on(second_url, framework_id), timeout=60,
                           message="re-subscribed to the new leading master")
        assert found["webui_url"] == scheduler.api
        assert scheduler.subscriptions() == [framework_id, framework_id], "same framework id on both masters"

        scheduler.cli("add", "0", "--cpus", "0.01", "--mem", "128", "--heap", "64")
        scheduler.cli("start", "0", "--timeout", "120s", timeout=240)
        tasks = [t for f in master_state(second_url)["frameworks"] for t in f["tasks"]]
        assert [t["state"] for t in tasks] == ["TASK_RUNNING"]
        scheduler.cli("stop", "0", "--timeout", "120s", timeout=240)
    finally:
        stop_all([scheduler] if scheduler else [], [p for p in (second_mesos, first_mesos) if p is not None])
