import pytest

from kafka_mesos.core.constraints import Placement, placements_of
from kafka_mesos.core.matching import match
from kafka_mesos.core.model import Broker, Failover, Stickiness, Task
from kafka_mesos.core.offers import Offer
from kafka_mesos.core.ranges import Range
from kafka_mesos.core.resources import Resources

NOW = 10_000.0


def offer(name: str, cpus: float = 4, mem: float = 8192, ports: tuple[Range, ...] = (Range(31000, 31009),),
          role: str = "*", **attributes: str) -> Offer:
    return Offer(f"o-{name}", f"agent-{name}", name, attributes,
                 {role: Resources(cpus=cpus, mem=mem, ports=ports)})


def broker(broker_id: int, **kwargs: object) -> Broker:
    values: dict[str, object] = {"cpus": 1.0, "mem": 1024, "heap": 512, "active": True}
    values.update(kwargs)
    return Broker(id=broker_id, **values)  # type: ignore[arg-type]


def test_seed_twenty_small_brokers_one_round_on_three_agents() -> None:
    brokers = [broker(i, cpus=0.01, mem=256, heap=128) for i in range(1000, 1020)]
    offers = [offer(f"a{i}", cpus=1, mem=2048, ports=(Range(31000, 32000),)) for i in range(3)]
    result = match(brokers, offers, [], NOW)
    assert sorted(d.broker_id for d in result.launches) == list(range(1000, 1020))
    per_offer = {o.id: [d for d in result.launches if d.offer_id == o.id] for o in offers}
    assert [len(v) for v in per_offer.values()] == [7, 7, 6]  # round-robin over the three agents
    for decisions in per_offer.values():
        ports = [d.port for d in decisions]
        assert len(set(ports)) == len(ports)  # no port handed out twice
    assert result.unused_offer_ids == [] and result.reasons == {}


def test_brokers_spread_round_robin_over_offers_with_room() -> None:
    brokers = [broker(i, cpus=0.01, mem=256, heap=128) for i in range(10)]
    offers = [offer("a", mem=100000), offer("b", mem=512), offer("c", mem=100000)]
    result = match(brokers, offers, [], NOW)
    hosts = [d.hostname for d in sorted(result.launches, key=lambda d: d.broker_id)]
    # b has room for two; once full, the others keep alternating between a and c
    assert hosts == ["a", "b", "c", "a", "b", "c", "a", "c", "a", "c"]


def test_only_active_brokers_without_task() -> None:
    task = Task("t", "a", "e", "h")
    brokers = [broker(0, active=False), broker(1, task=task), broker(2)]
    result = match(brokers, [offer("a")], [], NOW)
    assert [d.broker_id for d in result.launches] == [2]


def test_reasons_when_nothing_fits() -> None:
    result = match([broker(3, mem=512)], [offer("a3", mem=256), offer("a4", cpus=0.5)], [], NOW)
    assert result.launches == []
    assert result.reasons[3] == ["a3: mem 256 < 512", "a4: cpus 0.5 < 1"]
    assert result.reason_text(3) == "a3: mem 256 < 512; a4: cpus 0.5 < 1"
    assert result.unused_offer_ids == ["o-a3", "o-a4"]
    assert match([broker(3)], [], [], NOW).reasons[3] == ["no offers"]


def test_identical_brokers_share_reasons_and_remaining_capacity() -> None:
    brokers = [broker(i, cpus=1, mem=1024) for i in range(5)]
    result = match(brokers, [offer("small", cpus=0.1), offer("big", cpus=2, mem=4096)], [], NOW)
    assert [d.broker_id for d in result.launches] == [0, 1]
    assert result.reasons[2] == ["small: cpus 0.1 < 1", "big: cpus 0 < 1"]


def test_executor_overhead_counted() -> None:
    result = match([broker(0, cpus=1, mem=1024)], [offer("a", cpus=1.05, mem=1024)], [], NOW,
                   executor_cpus=0.1, executor_mem=32)
    assert result.launches == []
    result = match([broker(0, cpus=1, mem=1024)], [offer("a", cpus=1.1, mem=1056)], [], NOW,
                   executor_cpus=0.1, executor_mem=32)
    (decision,) = result.launches
    assert decision.cpus == 1 and decision.mem == 1024
    assert [(t.cpus, t.mem) for t in decision.executor_resources] == [(0.1, 32)]


def test_shared_executor_takes_its_resources_once_per_agent() -> None:
    brokers = [broker(i, cpus=1, mem=1024) for i in range(3)]
    room = offer("a", cpus=3.1, mem=3 * 1024 + 32)  # three tasks and one executor
    per_broker = match(brokers, [room], [], NOW, executor_cpus=0.1, executor_mem=32)
    assert [d.broker_id for d in per_broker.launches] == [0, 1]  # each broker brings its own executor
    shared = match(brokers, [room], [], NOW, executor_cpus=0.1, executor_mem=32, shared_executor=True)
    assert [d.broker_id for d in shared.launches] == [0, 1, 2]
    assert [d.new_executor for d in shared.launches] == [True, False, False]
    assert [[(t.cpus, t.mem) for t in d.executor_resources] for d in shared.launches] == [[(0.1, 32)], [], []]


def test_shared_executor_already_running_on_an_agent_needs_no_resources() -> None:
    tight = offer("a", cpus=1, mem=1024)  # room for the task only
    alone = match([broker(0)], [tight], [], NOW, executor_cpus=0.1, executor_mem=32, shared_executor=True)
    assert alone.launches == [] and "cpus 1 < 1.1" in (alone.reason_text(0) or "")
    hosted = match([broker(0)], [tight], [], NOW, executor_cpus=0.1, executor_mem=32, shared_executor=True,
                   agents_with_executor={"agent-a"})
    (decision,) = hosted.launches
    assert not decision.new_executor and decision.executor_resources == ()
    # the running executors only count when executors are shared
    per_broker = match([broker(0)], [tight], [], NOW, executor_cpus=0.1, executor_mem=32,
                       agents_with_executor={"agent-a"})
    assert per_broker.launches == []


def test_shared_executor_seed_round_starts_one_executor_per_agent() -> None:
    brokers = [broker(i, cpus=0.01, mem=256, heap=128) for i in range(1000, 1020)]
    offers = [offer(f"a{i}", cpus=1, mem=2048 + 32, ports=(Range(31000, 32000),)) for i in range(3)]
    result = match(brokers, offers, [], NOW, executor_cpus=0.1, executor_mem=32, shared_executor=True)
    assert len(result.launches) == 20
    new = [d.agent_id for d in result.launches if d.new_executor]
    assert sorted(new) == ["agent-a0", "agent-a1", "agent-a2"]


@pytest.mark.parametrize(("spec", "offered", "expected"), [
    (None, (Range(31000, 31009),), 31000),
    (Range(31005, 31005), (Range(31000, 31009),), 31005),
    (Range(31007, 31020), (Range(31000, 31009),), 31007),
    (Range(9092, 9092), (Range(31000, 31009),), None),  # mesos/kafka #127: outside the offer never matches
])
def test_port_choice(spec: Range | None, offered: tuple[Range, ...], expected: int | None) -> None:
    result = match([broker(0, port=spec)], [offer("a", ports=offered)], [], NOW)
    if expected is None:
        assert result.launches == [] and "no port 9092" in result.reasons[0][0]
    else:
        assert result.launches[0].port == expected


def test_fixed_port_only_once_per_offer() -> None:
    brokers = [broker(0, port=Range(31005, 31005)), broker(1, port=Range(31005, 31005))]
    result = match(brokers, [offer("a"), offer("b")], [], NOW)
    assert [(d.broker_id, d.hostname, d.port) for d in result.launches] == [(0, "a", 31005), (1, "b", 31005)]


def test_previous_port_is_preferred() -> None:
    sticky = Stickiness(hostname="a", port=31007, stop_time=0.0)  # window long expired
    result = match([broker(0, stickiness=sticky)], [offer("a")], [], NOW)
    assert result.launches[0].port == 31007


def test_reserved_role_first() -> None:
    resources = {"*": Resources(cpus=4, mem=4096, ports=(Range(31000, 31000),)),
                 "kafka": Resources(cpus=0.5, mem=512, ports=(Range(32000, 32000),))}
    offers = [Offer("o", "ag", "h", {}, resources)]
    (decision,) = match([broker(0)], offers, [], NOW, framework_role="kafka").launches
    assert decision.port == 32000 and decision.role == "kafka"
    taken = [(t.role, t.cpus, t.mem) for t in decision.task_resources]
    assert taken == [("kafka", 0.5, 512), ("*", 0.5, 512)]


def test_failover_delay_holds_back() -> None:
    failing = broker(0, failover=Failover(delay=60, failures=2, failure_time=NOW - 100))  # waits 120 s
    result = match([failing], [offer("a")], [], NOW)
    assert result.launches == [] and result.reasons[0][0].startswith("failover: 2 failure(s)")
    assert result.retry_at == NOW + 20
    assert result.decline_seconds(NOW) == 20 and result.decline_seconds(NOW + 30) == 1.0
    assert match([], [offer("a")], [], NOW).decline_seconds(NOW) == 3600
    assert match([failing], [offer("a")], [], NOW + 20).launches


def test_stickiness_restricts_host_until_period_passed() -> None:
    sticky = broker(0, stickiness=Stickiness(period=600, hostname="a", stop_time=NOW - 100))
    result = match([sticky], [offer("b")], [], NOW)
    assert result.launches == [] and result.reasons[0][0].startswith("stickiness: only host a until")
    assert result.retry_at == NOW + 500
    assert match([sticky], [offer("b"), offer("a")], [], NOW).launches[0].hostname == "a"
    assert match([sticky], [offer("b")], [], NOW + 500).launches[0].hostname == "b"


def test_unique_hostname_counts_same_round_and_existing() -> None:
    existing = [Placement(9, "a", {})]
    brokers = [broker(i, constraints={"hostname": "unique"}) for i in range(3)]
    result = match(brokers, [offer("a"), offer("b"), offer("c")], existing, NOW)
    assert {d.broker_id: d.hostname for d in result.launches} == {0: "b", 1: "c"}
    assert result.reasons[2] == ["a: unique: hostname=a already has broker 9",
                                 "b: unique: hostname=b already has broker 0",
                                 "c: unique: hostname=c already has broker 1"]


def test_group_by_rack_spreads() -> None:
    offers = [offer("a", rack="r1", mem=100000, cpus=100), offer("b", rack="r2", mem=100000, cpus=100)]
    brokers = [broker(i, constraints={"rack": "groupBy:2"}) for i in range(4)]
    result = match(brokers, offers, [], NOW)
    racks = [d.attributes["rack"] for d in sorted(result.launches, key=lambda d: d.broker_id)]
    assert racks == ["r1", "r2", "r1", "r2"]


def test_like_constraint_and_placements_of() -> None:
    running = Broker(id=5, active=True, task=Task("t", "ag", "e", "b", attributes={"rack": "r1"}))
    assert placements_of([running, Broker(id=6)]) == [Placement(5, "b", {"rack": "r1"})]
    brokers = [broker(0, constraints={"rack": "like:r2"})]
    result = match(brokers, [offer("a", rack="r1"), offer("c", rack="r2")], placements_of([running]), NOW)
    assert result.launches[0].hostname == "c"


def test_volume_needed() -> None:
    with_volume = Offer("o2", "ag2", "h2", {}, {"*": Resources(cpus=4, mem=8192, ports=(Range(1, 9),))},
                        volumes={"v1": "kafka"})
    result = match([broker(0, volume="v1")], [offer("h1"), with_volume], [], NOW)
    (decision,) = result.launches
    assert decision.hostname == "h2" and decision.volume == "v1" and decision.volume_role == "kafka"


def test_input_offers_and_brokers_untouched() -> None:
    brokers = [broker(0)]
    offers = [offer("a")]
    match(brokers, offers, [], NOW)
    assert brokers[0].task is None and offers[0].resources["*"].cpus == 4
