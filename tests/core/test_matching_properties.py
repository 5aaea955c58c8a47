"""Invariants of offer matching over random brokers and offers (hypothesis)."""

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from kafka_mesos.core.matching import match
from kafka_mesos.core.model import Broker
from kafka_mesos.core.offers import Offer
from kafka_mesos.core.ranges import Range
from kafka_mesos.core.resources import Resources, to_milli

CONSTRAINTS = [{}, {}, {"hostname": "unique"}, {"rack": "groupBy:2"}, {"rack": "like:r[01]"},
               {"rack": "cluster"}, {"hostname": "unique", "rack": "unlike:r2"}]

brokers_st = st.lists(
    st.builds(
        lambda cpus, mem, port, constraints, active: (cpus, mem, port, constraints, active),
        st.sampled_from([0.01, 0.1, 0.5, 1.0, 2.0]),
        st.sampled_from([64, 256, 1024, 4096]),
        st.one_of(st.none(),
                  st.builds(lambda a, n: Range(a, a + n), st.integers(31000, 31010), st.integers(0, 3))),
        st.sampled_from(range(len(CONSTRAINTS))),
        st.booleans(),
    ),
    max_size=25,
)
offers_st = st.lists(
    st.tuples(st.sampled_from([0.0, 0.5, 1.0, 4.0]), st.sampled_from([0, 512, 2048, 8192]),
              st.integers(31000, 31008), st.integers(0, 4), st.integers(0, 3),
              st.sampled_from(["*", "kafka"])),
    max_size=8,
)


@settings(max_examples=150, deadline=None)
@given(brokers_st, offers_st, st.sampled_from([0.0, 0.05]))
def test_matching_never_oversubscribes(raw_brokers: list, raw_offers: list, executor_cpus: float) -> None:
    brokers = [Broker(id=i, cpus=c, mem=m, heap=32, port=p, constraints=dict(CONSTRAINTS[k]), active=a)
               for i, (c, m, p, k, a) in enumerate(raw_brokers)]
    offers = [Offer(f"o{i}", f"ag{i % 3}", f"h{i % 3}", {"rack": f"r{rack}"},
                    {role: Resources(cpus=c, mem=m, ports=(Range(start, start + n),))})
              for i, (c, m, start, n, rack, role) in enumerate(raw_offers)]
    result = match(brokers, offers, [], 0.0, framework_role="kafka", executor_cpus=executor_cpus,
                   executor_mem=16)
    by_id = {b.id: b for b in brokers}
    launched = [d.broker_id for d in result.launches]
    assert len(launched) == len(set(launched))
    candidates = {b.id for b in brokers if b.active}
    assert set(launched) <= candidates
    assert set(result.reasons) == candidates - set(launched)
    assert all(result.reasons[i] for i in result.reasons)

    offer_by_id = {o.id: o for o in offers}
    used_cpus: dict[str, int] = defaultdict(int)
    used_mem: dict[str, int] = defaultdict(int)
    used_ports: dict[str, list[int]] = defaultdict(list)
    for decision in result.launches:
        broker = by_id[decision.broker_id]
        offer = offer_by_id[decision.offer_id]
        taken = decision.task_resources + decision.executor_resources
        used_cpus[offer.id] += sum(to_milli(t.cpus) for t in taken)
        used_mem[offer.id] += sum(to_milli(t.mem) for t in taken)
        assert sum(to_milli(t.cpus) for t in decision.task_resources) == to_milli(broker.cpus)
        used_ports[offer.id].append(decision.port)
        (offered,) = [r.ports[0] for r in offer.resources.values()]
        assert decision.port in offered
        assert broker.port is None or decision.port in broker.port
        assert decision.hostname == offer.hostname and decision.agent_id == offer.agent_id
    for offer in offers:
        (res,) = offer.resources.values()
        assert used_cpus[offer.id] <= to_milli(res.cpus)
        assert used_mem[offer.id] <= to_milli(res.mem)
        assert len(used_ports[offer.id]) == len(set(used_ports[offer.id]))
    assert set(result.unused_offer_ids) == {o.id for o in offers} - {d.offer_id for d in result.launches}

    # hostname=unique: no broker placed before it (in id order) shares its host.
    placed_before: list[tuple[int, str]] = []
    for decision in sorted(result.launches, key=lambda d: d.broker_id):
        if by_id[decision.broker_id].constraints.get("hostname") == "unique":
            assert all(host != decision.hostname for _, host in placed_before)
        placed_before.append((decision.broker_id, decision.hostname))
