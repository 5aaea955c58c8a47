"""Planning a rebalance of 1,000 topics x 50 partitions (RF 3) over 100 brokers; goal < 1 s.

The topics start on brokers 0..89, first as Kafka's placement left them (random start per topic, fixed seed;
uneven per topic when partitions < brokers), then already balanced there; the plan spreads them over 0..99.
Run: `.venv/bin/python bench/rebalance_plan.py [topics partitions brokers rf]`.
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter

from kafka_mesos.core.assignment import Assignment, assign_replicas
from kafka_mesos.core.rebalance import moves_between, plan_topics


def main(topics: int = 1000, partitions: int = 50, brokers: int = 100, rf: int = 3) -> None:
    rng = random.Random(42)
    old_brokers = list(range(int(brokers * 0.9)))
    current: dict[str, Assignment] = {
        f"t{i}": assign_replicas(old_brokers, partitions, rf, start_index=rng.randrange(len(old_brokers)),
                                 shift=rng.randrange(len(old_brokers)))
        for i in range(topics)
    }
    selected = list(range(brokers))
    report("Kafka's placement on", current, selected, topics, partitions, rf, len(old_brokers))
    balanced = plan_topics(current, old_brokers, {})
    report("already balanced on", balanced, selected, topics, partitions, rf, len(old_brokers))


def report(label: str, current: dict[str, Assignment], selected: list[int], topics: int, partitions: int,
           rf: int, old: int) -> None:
    timings = []
    for _ in range(3):  # best of three CPU times: the machine is shared, wall clock is noisy
        started = time.process_time()
        planned = plan_topics(current, selected, {})
        moves = moves_between(current, planned)
        timings.append(time.process_time() - started)
    elapsed = min(timings)
    per_broker = Counter(b for a in planned.values() for r in a.values() for b in r)
    moved = sum(m.moved_replicas for m in moves)
    print(f"{topics} topics x {partitions} partitions, RF {rf}, {label} {old} -> {len(selected)} brokers: "
          f"planned in {elapsed:.3f} s CPU (best of 3); {len(moves)} partitions change, "
          f"{moved} replicas move; "
          f"replicas per broker {min(per_broker.values())}..{max(per_broker.values())}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:5]))
