from hypothesis import given
from hypothesis import strategies as st

from kafka_mesos.core.ranges import Range
from kafka_mesos.core.resources import (
    OfferPool,
    Resources,
    Taken,
    first_port,
    merge_ranges,
    round_scalar,
    subtract_port,
    to_milli,
)


def test_round_scalar() -> None:
    assert round_scalar(0.1 + 0.2) == 0.3
    assert round_scalar(0.0004) == 0.0
    assert sum([to_milli(0.01)] * 100) == to_milli(1.0)


def test_merge_and_subtract() -> None:
    assert merge_ranges([Range(5, 9), Range(1, 3), Range(4, 4), Range(20, 30), Range(25, 26)]) == (
        Range(1, 9), Range(20, 30))
    assert subtract_port((Range(1, 5),), 3) == (Range(1, 2), Range(4, 5))
    assert subtract_port((Range(1, 5),), 1) == (Range(2, 5),)
    assert subtract_port((Range(7, 7),), 7) == ()
    assert subtract_port((Range(1, 5),), 9) == (Range(1, 5),)


def test_first_port() -> None:
    ranges = (Range(31000, 31005), Range(31100, 31200))
    assert first_port(ranges, None) == 31000
    assert first_port(ranges, Range(31050, 31150)) == 31100
    assert first_port(ranges, Range(31092, 31092)) is None
    assert first_port(ranges, None, preferred=31150) == 31150
    assert first_port(ranges, Range(31000, 31001), preferred=31150) == 31000


@given(st.lists(st.tuples(st.integers(1, 200), st.integers(0, 20)), max_size=8), st.integers(1, 230))
def test_subtract_removes_exactly_one_port(raw: list[tuple[int, int]], port: int) -> None:
    ranges = merge_ranges(Range(a, a + n) for a, n in raw)
    before = {p for r in ranges for p in range(r.start, r.end + 1)}
    after = {p for r in subtract_port(ranges, port) for p in range(r.start, r.end + 1)}
    assert after == before - {port}


def test_role_pool_prefers_reserved_role() -> None:
    pool = OfferPool.of({"*": Resources(cpus=4, mem=4096, ports=(Range(31000, 31010),)),
                         "kafka": Resources(cpus=1, mem=1024, ports=(Range(32000, 32000),)),
                         "other": Resources(cpus=100, mem=100000)}, "kafka")
    assert pool.cpus() == 5000 and pool.mem() == 5_120_000  # "other" role is not ours
    port = pool.find_port(None, None)
    assert port == (32000, "kafka")
    taken = pool.take(to_milli(1.5), to_milli(2048), port)
    assert taken == (Taken("kafka", 1.0, 1024.0, (32000,)), Taken("*", 0.5, 1024.0, ()))
    assert pool.find_port(None, None) == (31000, "*")
    assert pool.find_port(None, 31005) == (31005, "*")


def test_star_role_framework() -> None:
    pool = OfferPool.of({"*": Resources(cpus=1, mem=10), "kafka": Resources(cpus=5)}, "*")
    assert pool.cpus() == 1000
