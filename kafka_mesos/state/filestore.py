"""The embedded default backend: one JSON file, replaced atomically on every write.

A write serialises the whole state to a temporary file in the same directory, fsyncs it, renames it
over the real file and fsyncs the directory, so after a crash (kill -9, power loss) the file holds
either the state before or the state after the write, never a mix. An exclusive lock (`<file>.lock`,
flock) keeps a second scheduler from using the same file.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import itertools
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kafka_mesos.state.errors import ConflictError, StoreCorrupt, StoreUnavailable
from kafka_mesos.state.store import (
    SCHEMA_VERSION,
    BrokerWrite,
    NewVersions,
    Snapshot,
    Store,
    Versioned,
    check_batch,
    describe_expectation,
    version_matches,
)

log = logging.getLogger(__name__)

FORMAT = "kafka-mesos-state"
_temp_counter = itertools.count()


def atomic_write(path: Path, data: bytes, fsync: bool = True) -> None:
    """Replace `path` with `data` so that readers (and a crash) see the old or the new content only.

    Raises OSError; on error before the rename nothing is left behind. An error fsyncing the directory
    after the rename means the new content is visible but maybe not durable yet.
    """
    temp = path.with_name(f"{path.name}.tmp-{os.getpid()}-{next(_temp_counter)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        try:
            temp.unlink()
        except OSError:
            pass
        raise
    if fsync:
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def encode_state(framework_id: str | None, records: dict[int, Versioned]) -> bytes:
    document = {
        "format": FORMAT,
        "schema": SCHEMA_VERSION,
        "frameworkId": framework_id,
        "brokers": {
            str(broker_id): {"version": rec.version, "data": rec.data}
            for broker_id, rec in sorted(records.items())
        },
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=False).encode("utf-8")


def decode_state(raw: bytes, where: str) -> Snapshot:
    try:
        document: Any = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise StoreCorrupt(f"{where} is not valid JSON ({e}); restore a backup or move it away") from e
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise StoreCorrupt(f'{where} is not a kafka-mesos state file (no "format": "{FORMAT}")')
    schema = document.get("schema")
    if not isinstance(schema, int) or schema > SCHEMA_VERSION:
        raise StoreCorrupt(f"{where} has layout schema {schema!r}; this program reads up to {SCHEMA_VERSION}")
    framework_id = document.get("frameworkId")
    brokers: dict[int, Versioned] = {}
    try:
        for key, entry in dict(document.get("brokers") or {}).items():
            brokers[int(key)] = Versioned(data=dict(entry["data"]), version=int(entry["version"]))
    except (KeyError, TypeError, ValueError) as e:
        raise StoreCorrupt(f"{where} has a malformed broker entry: {e!r}") from e
    return Snapshot(
        framework_id=framework_id if isinstance(framework_id, str) else None,
        brokers=brokers,
        schema_version=schema,
    )


class FileStore(Store):
    def __init__(self, path: str | os.PathLike[str], fsync: bool = True) -> None:
        self.path = Path(path).absolute()
        self.description = f"file:{self.path}"
        self._fsync = fsync
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._lock_fd: int | None = None
        self._framework_id: str | None = None
        self._records: dict[int, Versioned] = {}
        self._write_lock = asyncio.Lock()
        self._last_write_error: str | None = None

    async def open(self) -> None:
        if self._lock_fd is not None:
            return
        directory = self.path.parent
        if not directory.is_dir():
            raise StoreUnavailable(f"cannot use {self.description}: directory {directory} does not exist")
        self._lock_fd = self._acquire_lock()
        try:
            self._remove_stale_temps()
            snapshot = await asyncio.to_thread(self._read)
        except BaseException:
            self._release_lock()
            raise
        self._framework_id = snapshot.framework_id
        self._records = dict(snapshot.brokers)

    def _acquire_lock(self) -> int:
        try:
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise StoreUnavailable(f"cannot create lock file {self._lock_path}: {e.strerror}") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise StoreUnavailable(
                    f"{self.path} is in use by another kafka-mesos scheduler "
                    f"(pid {holder}, lock {self._lock_path})"
                ) from e
            raise StoreUnavailable(f"cannot lock {self._lock_path}: {e.strerror}") from e
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing drops the flock
            self._lock_fd = None

    def _remove_stale_temps(self) -> None:
        """Temporary files of writers killed before their rename: never the state, safe to drop."""
        for temp in self.path.parent.glob(f"{self.path.name}.tmp-*"):
            try:
                temp.unlink()
            except OSError as e:
                log.warning("cannot remove stale temporary file %s: %s", temp, e)

    def _read(self) -> Snapshot:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return Snapshot(framework_id=None)
        except OSError as e:
            raise StoreUnavailable(f"cannot read {self.path}: {e.strerror}") from e
        return decode_state(raw, str(self.path))

    async def close(self) -> None:
        async with self._write_lock:
            self._release_lock()

    def _require_open(self) -> None:
        if self._lock_fd is None:
            raise StoreUnavailable(f"{self.description} is not open")

    async def load(self) -> Snapshot:
        self._require_open()
        # We hold the file's lock, so nobody else writes it: memory is the file.
        return Snapshot(framework_id=self._framework_id, brokers=dict(self._records))

    async def put_brokers(self, writes: Sequence[BrokerWrite]) -> NewVersions:
        check_batch(writes)
        # Shielded: once started, a write finishes and memory follows the file even if the caller is
        # cancelled; otherwise the next write could race this one's rename.
        return await asyncio.shield(self._put_brokers(list(writes)))

    async def _put_brokers(self, writes: list[BrokerWrite]) -> NewVersions:
        async with self._write_lock:
            self._require_open()
            records = dict(self._records)
            new_versions: NewVersions = {}
            conflicts: dict[int, str] = {}
            for write in writes:
                current = records.get(write.id)
                current_version = None if current is None else current.version
                if not version_matches(write.expected_version, current_version):
                    found = "no record" if current is None else f"version {current_version}"
                    expected = describe_expectation(write.expected_version)
                    conflicts[write.id] = f"broker {write.id}: expected {expected}, found {found}"
                    continue
                if write.data is None:
                    records.pop(write.id, None)
                    new_versions[write.id] = None
                else:
                    version = 0 if current_version is None else current_version + 1
                    records[write.id] = Versioned(data=write.data, version=version)
                    new_versions[write.id] = version
            if conflicts:
                raise ConflictError("; ".join(conflicts.values()), tuple(conflicts))
            await self._write(self._framework_id, records)
            self._records = records
            return new_versions

    async def set_framework_id(self, framework_id: str | None) -> None:
        async def write() -> None:
            async with self._write_lock:
                self._require_open()
                await self._write(framework_id, self._records)
                self._framework_id = framework_id

        await asyncio.shield(write())

    async def _write(self, framework_id: str | None, records: dict[int, Versioned]) -> None:
        data = encode_state(framework_id, records)
        try:
            await asyncio.to_thread(atomic_write, self.path, data, self._fsync)
        except OSError as e:
            self._last_write_error = f"cannot write {self.path}: {e.strerror or e}"
            if self._renamed(data):
                # the new content is visible but the directory fsync failed: durability unknown
                self._framework_id, self._records = framework_id, records
                raise StoreUnavailable(self._last_write_error, outcome_unknown=True) from e
            raise StoreUnavailable(self._last_write_error + " (nothing was changed)") from e
        self._last_write_error = None

    def _renamed(self, data: bytes) -> bool:
        try:
            return self.path.read_bytes() == data
        except OSError:
            return False

    async def healthy(self) -> bool:
        if self._lock_fd is None:
            return False
        if self._last_write_error is not None and not os.access(self.path.parent, os.W_OK):
            return False
        return self.path.parent.is_dir()
