"""Measure core offer matching: 10,000 broker specs x 1,000 offers, CPU time per round.

Run: .venv/bin/python bench/offer_matching.py
Scenarios: every broker fits (first-fit packing), nothing fits (every broker gets reasons),
hostname=unique (constraint evaluation against same-round placements), sticky + failover mix.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import time
from collections.abc import Callable

from kafka_mesos.core.matching import MatchResult, match
from kafka_mesos.core.model import Broker, Failover, Stickiness
from kafka_mesos.core.offers import Offer
from kafka_mesos.core.ranges import Range
from kafka_mesos.core.resources import Resources

BROKERS = 10_000
OFFERS = 1_000
NOW = 1_000_000.0


def offers(cpus: float, mem: float) -> list[Offer]:
    return [Offer(f"o{i}", f"agent{i}", f"host{i}", {"rack": f"r{i % 10}"},
                  {"*": Resources(cpus=cpus, mem=mem, ports=(Range(31000, 32000),))}) for i in range(OFFERS)]


def brokers(**kwargs: object) -> list[Broker]:
    return [Broker(id=i, cpus=0.5, mem=2048, heap=1024, active=True, **kwargs)  # type: ignore[arg-type]
            for i in range(BROKERS)]


def sticky_mix() -> list[Broker]:
    out = []
    for i in range(BROKERS):
        if i % 3 == 0:
            extra: dict[str, object] = {"stickiness": Stickiness(hostname=f"host{i % OFFERS}", port=31005,
                                                                  stop_time=NOW - 10)}
        elif i % 3 == 1:
            extra = {"failover": Failover(failures=1, failure_time=NOW - 1)}
        else:
            extra = {}
        out.append(Broker(id=i, cpus=0.5, mem=2048, heap=1024, active=True, **extra))  # type: ignore[arg-type]
    return out


def floor_first_fit(cpus: float, mem: float) -> int:
    """The floor: first-fit of the same brokers on the same offers with nothing but float arithmetic and a
    port counter (no model objects, no reasons, no constraints)."""
    free = [[cpus, mem, 31000] for _ in range(OFFERS)]
    placed = 0
    start = 0
    for _ in range(BROKERS):
        for index in range(start, OFFERS):
            offer = free[index]
            if offer[0] >= 0.5 and offer[1] >= 2048 and offer[2] <= 32000:
                offer[0] -= 0.5
                offer[1] -= 2048
                offer[2] += 1
                placed += 1
                break
            start = index + 1
    return placed


def best_cpu(run: Callable[[], object]) -> tuple[float, object]:
    best = float("inf")
    result = run()
    for _ in range(3):
        started = time.process_time()
        result = run()
        best = min(best, time.process_time() - started)
    return best, result


def measure(name: str, run: Callable[[], MatchResult], floor: float) -> None:
    best, result = best_cpu(run)
    assert isinstance(result, MatchResult)
    print(f"{name:<34} {best * 1000:8.1f} ms CPU  launches={len(result.launches):>6}  "
          f"not placed={len(result.reasons):>6}  floor {floor * 1000:6.1f} ms  ratio {best / floor:6.1f}")


def main() -> None:
    print(f"offer matching: {BROKERS} broker specs x {OFFERS} offers (best of 3, CPU time; goal < 1 s)")
    floor_fit, _ = best_cpu(lambda: floor_first_fit(8, 32768))
    floor_tight, _ = best_cpu(lambda: floor_first_fit(0.25, 1024))
    print(f"floor: bare first-fit over floats, all fit {floor_fit * 1000:.1f} ms, nothing fits "
          f"{floor_tight * 1000:.1f} ms")
    fit, tight = offers(8, 32768), offers(0.25, 1024)
    all_fit, unique = brokers(), brokers(constraints={"hostname": "unique"})
    group_by = brokers(constraints={"rack": "groupBy:10"})
    mix = sticky_mix()
    measure("all fit (16 per offer)", lambda: match(all_fit, fit, [], NOW), floor_fit)
    measure("nothing fits (reasons for all)", lambda: match(all_fit, tight, [], NOW), floor_tight)
    measure("hostname=unique (1000 placed)", lambda: match(unique, fit, [], NOW), floor_fit)
    measure("rack=groupBy:10", lambda: match(group_by, fit, [], NOW), floor_fit)
    measure("sticky/failover/free mix", lambda: match(mix, fit, [], NOW), floor_fit)


if __name__ == "__main__":
    main()
