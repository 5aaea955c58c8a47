"""Every broker route of both URL generations, over real HTTP against the aiohttp app."""

from __future__ import annotations

import asyncio

from kafka_mesos.core.model import TASK_RUNNING
from tests.api.conftest import Api
from tests.api.support import dump, ids_of, observe, running_task


async def test_add_twenty_brokers_like_the_seed(api: Api) -> None:
    status, answer = await api.post("/api/broker/add", broker="1000..1019", cpus="0.01", heap="128",
                                    mem="256", options="num.io.threads=1")
    assert status == 200
    assert ids_of(answer) == [str(i) for i in range(1000, 1020)]
    first = answer["brokers"][0]
    assert (first["cpus"], first["mem"], first["heap"]) == (0.01, 256, 128)
    assert first["options"] == "num.io.threads=1"
    assert first["active"] is False and first["state"] == "stopped"
    assert sorted(api.brokers) == list(range(1000, 1020))
    assert api.brokers[1019].options == {"num.io.threads": "1"}


async def test_parameters_from_query_string_form_and_json(api: Api) -> None:
    status, _ = await api.get("/api/broker/add", broker="0", cpus="0.5")
    assert status == 200
    status, _ = await api.post("/api/broker/add", broker="1", mem="4096")
    assert status == 200
    status, _ = await api.post_json("/api/broker/add", {"broker": 2, "heap": 512, "failoverMaxTries": 3})
    assert status == 200
    assert api.brokers[0].cpus == 0.5
    assert api.brokers[1].mem == 4096
    assert api.brokers[2].heap == 512 and api.brokers[2].failover.max_tries == 3


async def test_list_selects_by_expression_and_defaults_to_all(api: Api) -> None:
    await api.post("/api/broker/add", broker="0..4")
    assert ids_of((await api.get("/api/broker/list"))[1]) == ["0", "1", "2", "3", "4"]
    assert ids_of((await api.post("/api/broker/list", broker="1,3..4"))[1]) == ["1", "3", "4"]
    await observe(api.cluster, {2: running_task(2)}, active=True)
    _, answer = await api.get("/api/broker/list", broker="*[rack=r1]")
    assert ids_of(answer) == ["2"]
    assert answer["brokers"][0]["task"]["endpoint"] == "agent1:31002"


async def test_update_changes_only_given_options_and_empty_unsets(api: Api) -> None:
    await api.post("/api/broker/add", broker="0", cpus="2", port="31092", options="a=1")
    status, answer = await api.post("/api/broker/update", broker="0", mem="4096", port="")
    assert status == 200
    broker = api.brokers[0]
    assert (broker.cpus, broker.mem, broker.port, broker.options) == (2.0, 4096, None, {"a": "1"})
    assert "port" not in answer["brokers"][0]
    await api.post("/api/broker/update", broker="0", options="b=2")
    assert api.brokers[0].options == {"b": "2"}  # a map replaces the whole map


async def test_update_of_a_running_broker_marks_it_needing_restart(api: Api) -> None:
    await api.post("/api/broker/add", broker="0")
    await observe(api.cluster, {0: running_task(0)}, active=True)
    _, answer = await api.post("/api/broker/update", broker="0", cpus="2")
    assert answer["brokers"][0]["needsRestart"] is True
    assert api.brokers[0].needs_restart


async def test_remove_refuses_active_brokers_and_removes_stopped_ones(api: Api) -> None:
    await api.post("/api/broker/add", broker="0..2")
    await observe(api.cluster, {1: running_task(1)}, active=True)
    before = dump(api.cluster)
    status, answer = await api.post("/api/broker/remove", broker="0..2")
    assert status == 400 and answer["field"] == "broker" and "broker 1 is active" in answer["error"]
    assert dump(api.cluster) == before
    status, answer = await api.post("/api/broker/remove", broker="0,2")
    assert (status, answer) == (200, {"ids": ["0", "2"]})
    assert sorted(api.brokers) == [1]


async def test_remove_refuses_a_broker_whose_task_is_still_stopping(api: Api) -> None:
    await api.post("/api/broker/add", broker="0")
    await observe(api.cluster, {0: running_task(0)}, active=False)
    status, answer = await api.post("/api/broker/remove", broker="0")
    assert status == 400 and "still stopping" in answer["error"]
    assert 0 in api.brokers


async def test_clone_copies_settings_not_state(api: Api) -> None:
    await api.post("/api/broker/add", broker="0", cpus="0.5", mem="512", heap="256", options="x=1")
    await observe(api.cluster, {0: running_task(0)}, active=True)
    status, answer = await api.post("/api/broker/clone", broker="5..6", source="0")
    assert status == 200 and ids_of(answer) == ["5", "6"]
    clone = api.brokers[6]
    assert (clone.cpus, clone.mem, clone.heap, clone.options) == (0.5, 512, 256, {"x": "1"})
    assert clone.task is None and not clone.active
    status, answer = await api.post("/api/broker/clone", broker="7", source="9")
    assert status == 400 and answer["field"] == "source"


async def test_start_with_timeout_0_returns_scheduled_at_once(api: Api) -> None:
    api.control.follow = False
    await api.post("/api/broker/add", broker="0..1")
    status, answer = await api.post("/api/broker/start", broker="0..1", timeout="0")
    assert status == 200 and answer["status"] == "scheduled"
    assert all(b["active"] for b in answer["brokers"])
    assert api.control.wakes == 1


async def test_start_waits_until_the_brokers_are_observed_running(api: Api) -> None:
    await api.post("/api/broker/add", broker="0..2")
    status, answer = await api.post("/api/broker/start", broker="0..2", timeout="30s")
    assert status == 200 and answer["status"] == "started"
    assert [b["task"]["state"] for b in answer["brokers"]] == ["running"] * 3
    assert all(b.task is not None and b.task.state == TASK_RUNNING for b in api.brokers.values())


async def test_start_answers_timeout_when_brokers_do_not_come_up(api: Api) -> None:
    api.control.follow = False
    await api.post("/api/broker/add", broker="0")
    status, answer = await api.post("/api/broker/start", broker="0", timeout="200ms")
    assert status == 200 and answer["status"] == "timeout"
    assert answer["brokers"][0]["active"] is True


async def test_start_wait_ends_when_the_observed_state_changes(api: Api) -> None:
    """The waiting path with a fake observed-state change made through the cluster state."""
    api.control.follow = False
    await api.post("/api/broker/add", broker="0")
    request = asyncio.ensure_future(api.post("/api/broker/start", broker="0", timeout="60s"))
    await asyncio.sleep(0.05)
    assert not request.done()

    await observe(api.cluster, {0: running_task(0)})
    status, answer = await asyncio.wait_for(request, 10)
    assert (status, answer["status"]) == (200, "started")


async def test_stop_waits_until_tasks_are_gone_and_force_reaches_the_scheduler(api: Api) -> None:
    await api.post("/api/broker/add", broker="0..1")
    await api.post("/api/broker/start", broker="0..1", timeout="30s")
    status, answer = await api.post("/api/broker/stop", broker="0", timeout="30s", force=True)
    assert status == 200 and answer["status"] == "stopped"
    assert "task" not in answer["brokers"][0] and answer["brokers"][0]["active"] is False
    assert api.control.force_stopped == [0]
    status, answer = await api.post("/api/broker/stop", broker="1", timeout="0")
    assert answer["status"] == "scheduled" and api.control.force_stopped == [0]


async def test_restart_rolls_one_broker_at_a_time(api: Api) -> None:
    await api.post("/api/broker/add", broker="0..2")
    await api.post("/api/broker/start", broker="0..2", timeout="30s")
    old_tasks = {i: b.task for i, b in api.brokers.items()}
    status, answer = await api.post("/api/broker/restart", broker="0..2", timeout="30s",
                                    noWaitForReplication=True)
    assert status == 200 and answer["status"] == "restarted" and ids_of(answer) == ["0", "1", "2"]
    assert all(b.active and b.task is not None and b.task.running for b in api.brokers.values())
    assert all(api.brokers[i].task is not old_tasks[i] for i in old_tasks)


async def test_restart_reports_where_it_stopped_on_timeout(api: Api) -> None:
    await api.post("/api/broker/add", broker="0")
    await observe(api.cluster, {0: running_task(0)}, active=True)
    api.control.follow = False
    status, answer = await api.post("/api/broker/restart", broker="0", timeout="200ms")
    assert (status, answer["status"], answer["message"]) == (200, "timeout", "broker 0 timeout on stop")
    assert api.brokers[0].active is False  # left where it stopped, as reported


async def test_restart_refuses_inactive_brokers(api: Api) -> None:
    await api.post("/api/broker/add", broker="0")
    status, answer = await api.post("/api/broker/restart", broker="0")
    assert status == 400 and "not active" in answer["error"]


async def test_log_returns_the_executors_lines(api: Api) -> None:
    await api.post("/api/broker/add", broker="0..1")
    await observe(api.cluster, {0: running_task(0)}, active=True)
    api.control.logs[0] = "one\ntwo\nthree\n"
    status, answer = await api.post("/api/broker/log", broker="0", name="server.log", lines="2")
    assert (status, answer) == (200, {"status": "ok", "content": "two\nthree\n"})
    status, answer = await api.post("/api/broker/log", broker="1")
    assert status == 400 and answer["error"] == "broker 1 is not active"
    api.control.log_delay = 5
    status, answer = await api.post("/api/broker/log", broker="0", timeout="100ms")
    assert answer == {"status": "timeout", "content": "broker 0 log retrieve timeout"}
    status, answer = await api.post("/api/broker/log", broker="0", name="../etc/passwd")
    assert status == 400 and answer["field"] == "name"


async def test_g1_routes(api: Api) -> None:
    await api.cluster.set_framework_id("fw-test")
    status, answer = await api.post("/api/brokers/add", id="0..1", cpus="0.5")
    assert status == 200 and ids_of(answer) == ["0", "1"]
    status, answer = await api.post("/api/brokers/update", id="1", mem="1025", heap="1024")
    assert status == 200 and api.brokers[1].mem == 1025
    status, answer = await api.get("/api/brokers/status")
    assert status == 200 and answer["frameworkId"] == "fw-test" and ids_of(answer) == ["0", "1"]
    status, answer = await api.post("/api/brokers/start", id="0", timeout="30s")
    assert (answer["status"], answer["ids"]) == ("started", "0")
    status, answer = await api.post("/api/brokers/stop", id="0", timeout="30s")
    assert (answer["status"], answer["ids"]) == ("stopped", "0")
    status, answer = await api.post("/api/brokers/remove", id="0,1")
    assert (status, answer) == (200, {"ids": "0,1"})
    status, answer = await api.post("/api/brokers/rebalance", id="0")
    assert status == 501 and "needs Kafka's ZooKeeper" in answer["error"]  # no topic backend here
    status, answer = await api.post("/api/brokers/add", broker="3")
    assert status == 400 and answer["field"] == "broker"


async def test_concurrent_writers_to_different_brokers_all_persist(api: Api) -> None:
    adds = [api.post("/api/broker/add", broker=str(i), cpus="0.1") for i in range(50)]
    results = await asyncio.gather(*adds)
    assert all(status == 200 for status, _ in results)
    assert sorted(api.brokers) == list(range(50))


async def test_concurrent_writes_to_one_broker_lose_no_update(api: Api) -> None:
    await api.post("/api/broker/add", broker="0")
    changes = {"cpus": "3", "volume": "v1", "bindAddress": "10.0.0.*", "jvmOptions": "-Xss1m",
               "stickinessPeriod": "5m", "failoverMaxTries": "4", "port": "31000..31010",
               "options": "a=1", "log4jOptions": "b=2", "constraints": "hostname=unique"}
    results = await asyncio.gather(*(api.post("/api/broker/update", broker="0", **{k: v})
                                     for k, v in changes.items()))
    assert all(status == 200 for status, _ in results)
    broker = api.brokers[0]
    assert (broker.cpus, broker.volume, broker.bind_address, broker.jvm_options) == (3.0, "v1", "10.0.0.*",
                                                                                     "-Xss1m")
    assert (broker.stickiness.period, broker.failover.max_tries) == (300.0, 4)
    assert (broker.port is not None and broker.port.format()) == "31000..31010"
    assert (broker.options, broker.log4j_options, broker.constraints) == (
        {"a": "1"}, {"b": "2"}, {"hostname": "unique"})


async def test_log_failure_from_a_scheduler_error_without_importing_the_api(api: Api) -> None:
    await api.post("/api/broker/add", broker="0")
    await observe(api.cluster, {0: running_task(0)}, active=True)

    async def failing(broker_id: int, name: str, lines: int, timeout: float) -> str:  # noqa: ASYNC109
        raise RuntimeError("the scheduler is not connected to Mesos")

    api.control.broker_log = failing  # type: ignore[method-assign]
    status, answer = await api.post("/api/broker/log", broker="0")
    assert status == 200
    assert answer == {"status": "failure", "content": "the scheduler is not connected to Mesos"}
