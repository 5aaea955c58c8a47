"""RecordIO framing of Mesos event streams: ``<decimal length>\\n<length bytes>``, repeated.

Sans-IO: feed whatever bytes arrived (HTTP chunk boundaries mean nothing) and get back
the records completed so far. Only the standard library is used (the executor imports it).
"""

from __future__ import annotations

# A uint64 has at most 20 decimal digits.
MAX_LENGTH_DIGITS = 20
# A single event larger than this is treated as a corrupt stream rather than buffered.
DEFAULT_MAX_RECORD_SIZE = 256 * 1024 * 1024


class RecordIOError(ValueError):
    """The stream is not valid RecordIO; it cannot be resynchronised."""


def encode_record(payload: bytes) -> bytes:
    """Frame one record."""
    return str(len(payload)).encode("ascii") + b"\n" + payload


class RecordIODecoder:
    """Incremental decoder. After a :class:`RecordIOError` the decoder stays failed."""

    def __init__(self, max_record_size: int = DEFAULT_MAX_RECORD_SIZE) -> None:
        self._buffer = bytearray()
        self._pending_length: int | None = None
        self._max_record_size = max_record_size
        self._failed: RecordIOError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a record."""
        return len(self._buffer)

    def at_record_boundary(self) -> bool:
        """True when no partial record is buffered (a clean place for the stream to end)."""
        return not self._buffer and self._pending_length is None

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add bytes; return every record completed by them, in order."""
        if self._failed is not None:
            raise self._failed
        self._buffer += chunk
        records: list[bytes] = []
        try:
            while True:
                if self._pending_length is None:
                    length = self._read_length()
                    if length is None:
                        break
                    self._pending_length = length
                if len(self._buffer) < self._pending_length:
                    break
                size = self._pending_length
                records.append(bytes(self._buffer[:size]))
                del self._buffer[:size]
                self._pending_length = None
        except RecordIOError as exc:
            self._failed = exc
            raise
        return records

    def _read_length(self) -> int | None:
        newline = self._buffer.find(b"\n", 0, MAX_LENGTH_DIGITS + 1)
        if newline < 0:
            if len(self._buffer) > MAX_LENGTH_DIGITS:
                raise RecordIOError(f"no newline within {MAX_LENGTH_DIGITS} bytes of a record header")
            if self._buffer and not self._buffer.isdigit():
                raise RecordIOError(f"record header is not a decimal length: {bytes(self._buffer)!r}")
            return None
        header = bytes(self._buffer[:newline])
        if not header or not header.isdigit():
            raise RecordIOError(f"record header is not a decimal length: {header!r}")
        length = int(header)
        if length == 0:
            raise RecordIOError("record length 0")
        if length > self._max_record_size:
            raise RecordIOError(f"record length {length} exceeds {self._max_record_size}")
        del self._buffer[: newline + 1]
        return length
