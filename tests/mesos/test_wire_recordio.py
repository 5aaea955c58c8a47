from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kafka_mesos.mesos.recordio import RecordIODecoder, RecordIOError, encode_record


def test_encode_record() -> None:
    assert encode_record(b"hello") == b"5\nhello"
    assert encode_record(b"a\nb") == b"3\na\nb"


def test_every_split_point_of_several_records() -> None:
    payloads = [b"x", b"\n\n12\n", b"y" * 300, b"{}"]
    stream = b"".join(encode_record(p) for p in payloads)
    for cut in range(len(stream) + 1):
        decoder = RecordIODecoder()
        assert decoder.feed(stream[:cut]) + decoder.feed(stream[cut:]) == payloads


def test_byte_by_byte() -> None:
    payloads = [b"a" * 12, b"b"]
    decoder = RecordIODecoder()
    got = []
    for byte in b"".join(encode_record(p) for p in payloads):
        got += decoder.feed(bytes([byte]))
    assert got == payloads and decoder.at_record_boundary()


def test_partial_record_is_buffered() -> None:
    decoder = RecordIODecoder()
    assert decoder.feed(b"10\nabc") == []
    assert not decoder.at_record_boundary()
    assert decoder.feed(b"defghij4\nwxyz") == [b"abcdefghij", b"wxyz"]


@given(st.lists(st.binary(min_size=1, max_size=200), max_size=8), st.lists(st.integers(0, 2000), max_size=6))
def test_property_any_chunking(payloads: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(encode_record(p) for p in payloads)
    points = sorted({min(c, len(stream)) for c in cuts})
    decoder = RecordIODecoder()
    got: list[bytes] = []
    previous = 0
    for point in [*points, len(stream)]:
        got += decoder.feed(stream[previous:point])
        previous = point
    assert got == payloads


@pytest.mark.parametrize(
    "stream",
    [b"abc\nxyz", b"-1\nx", b"\nx", b"0\n", b"1" * 21, b"12x", b" 5\nhello"],
)
def test_malformed_headers(stream: bytes) -> None:
    decoder = RecordIODecoder()
    with pytest.raises(RecordIOError):
        decoder.feed(stream)
    with pytest.raises(RecordIOError):  # stays failed
        decoder.feed(b"1\na")


def test_digit_run_is_capped() -> None:
    decoder = RecordIODecoder()
    assert decoder.feed(b"1" * 20) == []  # still a plausible uint64 header
    with pytest.raises(RecordIOError):
        decoder.feed(b"1")


def test_record_size_cap() -> None:
    decoder = RecordIODecoder(max_record_size=10)
    with pytest.raises(RecordIOError):
        decoder.feed(b"11\n")
