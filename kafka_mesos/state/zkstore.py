"""ZooKeeper backend (`--storage zk:/kafka-mesos --zk host:port[,host:port][/chroot]`).

Layout under the root path (the `--zk` chroot followed by the storage path):

    <root>/schema          layout version ("1")
    <root>/framework-id    the Mesos framework id (empty: none yet)
    <root>/brokers/<id>    one JSON record per broker; the znode version is the record's version
    <root>/changes         bumped by every write, JSON {"tx": <last write id>, "batch": <open batch>|null};
                           one data watch on it notices every foreign change
    <root>/owners/<uuid>   ephemeral: the session that runs an open batch is alive
    <root>/batch-undo/<n>  undo records of the open batch, one per chunk

Every write is a ZooKeeper multi-op transaction that also sets `changes` with a version check, and
sets/creates/deletes broker znodes with version checks (compare-and-set). A batch too big for one
transaction (ZooKeeper refuses requests over ~1 MB, e.g. an add of 10,000 brokers) is written in chunks
under an open-batch marker: the first chunk marks `changes` as "batch open, owned by <owner node>",
each chunk writes its undo record in the same transaction, and a final transaction closes the batch.
Readers and writers never use a store with an open batch: they wait for its owner to finish, or, when
the owner's session is gone, roll the batch back from its undo records first. So a batch is all or
nothing from every reader's view.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from kazoo.client import TransactionRequest
from kazoo.exceptions import (
    ConnectionDropped,
    ConnectionLoss,
    NodeExistsError,
    NoNodeError,
    OperationTimeoutError,
    RolledBackError,
    RuntimeInconsistency,
    SessionExpiredError,
    SessionMovedError,
    ZookeeperStoppedError,
)
from kazoo.protocol.states import ZnodeStat

from kafka_mesos.state.errors import ConflictError, StorageConfigError, StoreCorrupt, StoreUnavailable
from kafka_mesos.state.store import (
    ANY,
    SCHEMA_VERSION,
    BrokerWrite,
    ForeignChangeListener,
    NewVersions,
    Snapshot,
    Store,
    Versioned,
    check_batch,
    describe_expectation,
)
from kafka_mesos.state.zkbridge import ZkBridge, add_create, add_delete, add_set
from kafka_mesos.state.zkpaths import check_znode_path, parse_zk_connect

log = logging.getLogger(__name__)

MAX_TX_BYTES = 900_000
"""Payload per transaction, under ZooKeeper's default request limit (jute.maxbuffer, 1 MB)."""
MAX_TX_OPS = 5_000
OP_OVERHEAD = 64  # per operation: headers, version, ACL
TRANSIENT = (ConnectionLoss, ConnectionDropped, OperationTimeoutError, SessionMovedError)


@dataclass(frozen=True)
class _Changes:
    version: int
    tx: str | None
    batch_id: str | None
    batch_owner: str | None


class _Retry(Exception):
    """The `changes` node moved under us (someone else wrote): build the transaction again."""


class _Ambiguous(Exception):
    """The connection went while a transaction was in flight: applied or not is unknown."""

    def __init__(self, cause: BaseException, session_lost: bool) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.session_lost = session_lost


def _encode(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode("utf-8")


def _failed_index(results: list[Any]) -> int | None:
    """Index of the operation that made a multi fail (the others report rolled back), None on success."""
    for index, result in enumerate(results):
        if isinstance(result, Exception) and not isinstance(result, RolledBackError | RuntimeInconsistency):
            return index
    return None


class ZkStore(Store):
    def __init__(self, zk: str, path: str, session_timeout: float = 10.0, op_timeout: float = 15.0) -> None:
        hosts, chroot = parse_zk_connect(zk)
        check_znode_path("storage", path)
        self.hosts = hosts
        self.root = (chroot + path).rstrip("/") or ""
        if not self.root:
            raise StorageConfigError("storage", "the ZooKeeper storage path cannot be the root '/'")
        self.description = f"zk:{path} on {zk}"
        self.session_timeout = session_timeout
        self.op_timeout = op_timeout
        self._bridge: ZkBridge | None = None
        self._lock = asyncio.Lock()
        self._listener: ForeignChangeListener | None = None
        self._own_versions: set[int] = set()
        self._own_txids: list[str] = []
        self._seen_version = -1
        self._abandoned_owners: set[str] = set()
        self._marker_hint: int | None = None
        """Version of the change marker after our last write: saves a read per write (if someone else
        wrote since, the transaction's version check fails and the marker is read again)."""
        self.write_guard: Callable[[], None] | None = None
        """Called right before every transaction is sent (retries too); raises to stop it. Leader
        election sets it, so that no retry goes out after leadership ended (e.g. in a new session)."""

    # ------------------------------------------------------------------ paths

    @property
    def changes_path(self) -> str:
        return f"{self.root}/changes"

    def broker_path(self, broker_id: int) -> str:
        return f"{self.root}/brokers/{broker_id}"

    # ------------------------------------------------------------------ lifecycle

    @property
    def bridge(self) -> ZkBridge:
        if self._bridge is None:
            raise StoreUnavailable(f"{self.description} is not open")
        return self._bridge

    async def open(self) -> None:
        if self._bridge is not None:
            return
        bridge = ZkBridge(self.hosts, self.session_timeout)
        try:
            await bridge.start(self.op_timeout)
        except TimeoutError as e:
            raise StoreUnavailable(f"cannot open {self.description}: {e}") from e
        self._bridge = bridge
        try:
            await self._create_layout()
        except BaseException:
            self._bridge = None
            await bridge.stop()
            raise
        bridge.watch_data(self.changes_path, self._on_changes)

    async def _create_layout(self) -> None:
        client = self.bridge.client
        await self._read("creating the root path", lambda: client.ensure_path_async(self.root))
        initial = {
            "schema": str(SCHEMA_VERSION).encode(),
            "framework-id": b"",
            "brokers": b"",
            "owners": b"",
            "batch-undo": b"",
            "changes": _encode({"tx": None, "batch": None}),
        }
        for name, value in initial.items():
            try:
                await self._read(
                    f"creating {self.root}/{name}",
                    partial(client.create_async, f"{self.root}/{name}", value),
                )
            except NodeExistsError:
                pass
        raw, _ = await self._read("reading the schema", lambda: client.get_async(f"{self.root}/schema"))
        try:
            schema = int(raw.decode() or "0")
        except ValueError:
            raise StoreCorrupt(f"{self.root}/schema holds {raw!r}, not a layout version") from None
        if schema > SCHEMA_VERSION:
            raise StoreCorrupt(
                f"{self.description} has layout schema {schema}; this program reads up to {SCHEMA_VERSION}"
            )

    async def close(self) -> None:
        bridge, self._bridge = self._bridge, None
        if bridge is not None:
            await bridge.stop()

    async def healthy(self) -> bool:
        return self._bridge is not None and self._bridge.connected

    def set_foreign_change_listener(self, listener: ForeignChangeListener | None) -> None:
        self._listener = listener

    def _on_changes(self, data: bytes | None, stat: ZnodeStat | None) -> None:
        if stat is None or stat.version <= self._seen_version:
            return
        tx = None
        try:
            tx = json.loads(data or b"{}").get("tx")
        except ValueError:
            pass
        previous, self._seen_version = self._seen_version, stat.version
        if previous < 0:
            return  # the first call reports the state at open, not a change
        skipped = range(previous + 1, stat.version)
        foreign = any(v not in self._own_versions for v in skipped) or (
            stat.version not in self._own_versions and tx not in self._own_txids
        )
        self._own_versions = {v for v in self._own_versions if v > stat.version}
        if foreign and self._listener is not None:
            self._listener()

    def _remember_own(self, txid: str, version: int | None = None) -> None:
        self._own_txids = [*self._own_txids[-999:], txid]
        if version is not None:
            self._own_versions.add(version)

    # ------------------------------------------------------------------ request helpers

    def _deadline(self) -> float:
        return asyncio.get_running_loop().time() + self.op_timeout

    async def _await_connection(self, deadline: float, what: str) -> None:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0 or not await self.bridge.wait_connected(remaining):
            raise StoreUnavailable(
                f"ZooKeeper {self.hosts} unreachable for {self.op_timeout:g}s while {what}"
            )

    async def _read(self, what: str, start: Callable[[], Any], deadline: float | None = None) -> Any:
        """An idempotent request: retried across disconnects and session changes until the deadline."""
        deadline = self._deadline() if deadline is None else deadline
        while True:
            await self._await_connection(deadline, what)
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                return await asyncio.wait_for(self.bridge.run(start), max(remaining, 0.001))
            except (*TRANSIENT, SessionExpiredError):
                continue
            except TimeoutError:
                raise StoreUnavailable(f"ZooKeeper {self.hosts} did not answer while {what}") from None
            except ZookeeperStoppedError as e:
                raise StoreUnavailable(f"{self.description} is closed") from e

    async def _commit(self, tx: TransactionRequest, what: str, deadline: float) -> list[Any]:
        """Send one transaction; connection trouble while in flight raises `_Ambiguous`."""
        await self._await_connection(deadline, what)
        if self.write_guard is not None:
            self.write_guard()
        lost_before = self.bridge.sessions_lost
        remaining = deadline - asyncio.get_running_loop().time()
        try:
            pending = self.bridge.run(tx.commit_async)
            results: list[Any] = await asyncio.wait_for(pending, max(remaining, 0.001))
        except SessionExpiredError as e:
            raise _Ambiguous(e, session_lost=True) from e
        except TRANSIENT as e:
            raise _Ambiguous(e, session_lost=self.bridge.sessions_lost != lost_before) from e
        except TimeoutError as e:
            # the request may still sit in kazoo's queue and be sent later: nothing can be concluded
            raise StoreUnavailable(
                f"ZooKeeper {self.hosts} did not answer while {what}; the write may or may not be applied",
                outcome_unknown=True,
            ) from e
        except ZookeeperStoppedError as e:
            raise StoreUnavailable(f"{self.description} is closed") from e
        return results

    async def _marker_for_write(self, deadline: float) -> _Changes:
        if self._marker_hint is not None:
            return _Changes(self._marker_hint, None, None, None)
        return await self._settled_changes(deadline)

    async def _read_changes(self, deadline: float) -> _Changes:
        raw, stat = await self._read(
            "reading the change marker", lambda: self.bridge.client.get_async(self.changes_path), deadline
        )
        try:
            info = json.loads(raw or b"{}")
        except ValueError:
            raise StoreCorrupt(f"{self.changes_path} holds {raw[:80]!r}, not JSON") from None
        batch = info.get("batch") or {}
        return _Changes(stat.version, info.get("tx"), batch.get("id"), batch.get("owner"))

    async def _exists(self, path: str, deadline: float) -> ZnodeStat | None:
        stat: ZnodeStat | None = await self._read(
            f"checking {path}", lambda: self.bridge.client.exists_async(path), deadline
        )
        return stat

    async def _settled_changes(self, deadline: float) -> _Changes:
        """The change marker once no batch is open (waiting for a live owner, rolling back a dead one's)."""
        delay = 0.01
        while True:
            changes = await self._read_changes(deadline)
            if changes.batch_id is None or changes.batch_owner is None:
                return changes
            owner = changes.batch_owner
            if await self._exists(owner, deadline) is None:
                log.warning("rolling back batch %s left open by a session that is gone", changes.batch_id)
                await self._take_over(changes, deadline)
            elif owner in self._abandoned_owners:  # ours, given up after connection trouble
                await self._rollback(owner, changes.version, deadline)
                self._abandoned_owners.discard(owner)
            else:
                if asyncio.get_running_loop().time() + delay > deadline:
                    raise StoreUnavailable(
                        f"another scheduler's batch write {changes.batch_id} has been in progress for "
                        f"over {self.op_timeout:g}s in {self.description}"
                    )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.2)

    # ------------------------------------------------------------------ reading

    async def load(self) -> Snapshot:
        async with self._lock:
            deadline = self._deadline()
            client = self.bridge.client
            while True:
                changes = await self._settled_changes(deadline)
                framework_path = f"{self.root}/framework-id"
                framework_raw, _ = await self._read(
                    "reading the framework id", partial(client.get_async, framework_path), deadline
                )
                names = await self._read(
                    "listing brokers", lambda: client.get_children_async(f"{self.root}/brokers"), deadline
                )
                brokers = await self._get_brokers([int(name) for name in names if name.isdigit()], deadline)
                if brokers is None:
                    continue
                after = await self._exists(self.changes_path, deadline)
                if after is not None and after.version == changes.version:
                    framework_id = framework_raw.decode() or None
                    return Snapshot(framework_id=framework_id, brokers=brokers)

    async def _get_brokers(self, ids: list[int], deadline: float) -> dict[int, Versioned] | None:
        """Read many brokers at once; None when one vanished meanwhile or the connection went (retry)."""
        await self._await_connection(deadline, "reading brokers")
        try:
            results = await self.bridge.get_many([self.broker_path(i) for i in ids])
        except (*TRANSIENT, SessionExpiredError):
            return None
        brokers: dict[int, Versioned] = {}
        for broker_id, result in zip(ids, results, strict=True):
            if isinstance(result, NoNodeError):
                return None
            if isinstance(result, Exception):
                raise StoreUnavailable(f"cannot read broker {broker_id}: {result!r}")
            raw, stat = result
            try:
                brokers[broker_id] = Versioned(data=json.loads(raw), version=stat.version)
            except ValueError:
                raise StoreCorrupt(f"{self.broker_path(broker_id)} is not JSON: {raw[:80]!r}") from None
        return brokers

    async def _current(self, ids: list[int], deadline: float) -> dict[int, tuple[bytes | None, int | None]]:
        """id → (data, version), (None, None) for absent records."""
        while True:
            await self._await_connection(deadline, "reading brokers")
            try:
                results = await self.bridge.get_many([self.broker_path(i) for i in ids])
            except (*TRANSIENT, SessionExpiredError):
                continue
            current: dict[int, tuple[bytes | None, int | None]] = {}
            for broker_id, result in zip(ids, results, strict=True):
                if isinstance(result, NoNodeError):
                    current[broker_id] = (None, None)
                elif isinstance(result, Exception):
                    raise StoreUnavailable(f"cannot read broker {broker_id}: {result!r}")
                else:
                    current[broker_id] = (result[0], result[1].version)
            return current

    # ------------------------------------------------------------------ writing

    async def put_brokers(self, writes: Sequence[BrokerWrite]) -> NewVersions:
        check_batch(writes)
        if not writes:
            return {}
        # Shielded: a started write runs to its end (and its batch marker is closed) even if the caller
        # is cancelled.
        return await asyncio.shield(self._put_brokers(list(writes)))

    async def _put_brokers(self, writes: list[BrokerWrite]) -> NewVersions:
        async with self._lock:
            deadline = self._deadline()
            encoded = {w.id: None if w.data is None else _encode(w.data) for w in writes}
            size = sum(len(data or b"") + OP_OVERHEAD for data in encoded.values())
            while True:
                try:
                    if size <= MAX_TX_BYTES and len(writes) <= MAX_TX_OPS:
                        return await self._put_single(writes, encoded, deadline)
                    return await self._put_chunked(writes, encoded, deadline)
                except _Retry:
                    if asyncio.get_running_loop().time() > deadline:
                        raise StoreUnavailable(
                            f"{self.description} kept changing under this write for {self.op_timeout:g}s"
                        ) from None

    async def _conflict(self, write: BrokerWrite, deadline: float) -> ConflictError:
        stat = await self._exists(self.broker_path(write.id), deadline)
        found = "no record" if stat is None else f"version {stat.version}"
        expected = describe_expectation(write.expected_version)
        return ConflictError(f"broker {write.id}: expected {expected}, found {found}", (write.id,))

    async def _put_single(
        self, writes: list[BrokerWrite], encoded: dict[int, bytes | None], deadline: float
    ) -> NewVersions:
        changes = await self._marker_for_write(deadline)
        self._marker_hint = None
        any_ids = [w.id for w in writes if w.expected_version is ANY]
        existing = await self._current(any_ids, deadline) if any_ids else {}
        txid = uuid.uuid4().hex
        tx = self.bridge.client.transaction()
        tx.set_data(self.changes_path, _encode({"tx": txid, "batch": None}), version=changes.version)
        op_writes: list[BrokerWrite] = []
        new_versions: NewVersions = {}
        for write in writes:
            path = self.broker_path(write.id)
            data = encoded[write.id]
            exists = existing[write.id][1] is not None if write.expected_version is ANY else None
            version = -1 if write.expected_version is ANY else write.expected_version
            if data is None:
                if exists is False:
                    new_versions[write.id] = None
                    continue
                tx.delete(path, version=version)
            elif write.expected_version is None or exists is False:
                tx.create(path, data)
            else:
                tx.set_data(path, data, version=version)
            op_writes.append(write)
        self._remember_own(txid)
        try:
            results = await self._commit(tx, "writing brokers", deadline)
        except _Ambiguous as e:
            return await self._resolve_ambiguous(e, txid, changes.version, writes, deadline)
        failed = _failed_index(results)
        if failed == 0:
            raise _Retry()
        if failed is not None:
            self._marker_hint = changes.version  # the marker did not move
            write = op_writes[failed - 1]
            if write.expected_version is ANY:
                raise _Retry()  # existence changed between our read and the write
            raise await self._conflict(write, deadline)
        self._own_versions.add(changes.version + 1)
        self._marker_hint = changes.version + 1
        for write, result in zip(op_writes, results[1:], strict=True):
            if write.data is None:
                new_versions[write.id] = None
            elif isinstance(result, ZnodeStat):
                new_versions[write.id] = result.version
            else:
                new_versions[write.id] = 0  # created
        return new_versions

    async def _resolve_ambiguous(
        self, error: _Ambiguous, txid: str, changes_version: int, writes: list[BrokerWrite], deadline: float
    ) -> NewVersions:
        """After the connection went mid-transaction: find out from the change marker whether it applied."""
        what = "session expired" if error.session_lost else "connection lost"
        try:
            changes = await self._read_changes(deadline)
        except StoreUnavailable:
            raise StoreUnavailable(
                f"ZooKeeper {what} during a write and did not come back; it may or may not be applied",
                outcome_unknown=True,
            ) from error
        if changes.tx == txid:
            self._own_versions.add(changes.version)
            current = await self._current([w.id for w in writes], deadline)
            return {w.id: current[w.id][1] for w in writes}
        if changes.version == changes_version:
            if error.session_lost:
                raise StoreUnavailable(f"ZooKeeper {what} during a write; nothing was changed") from error
            raise _Retry()
        raise StoreUnavailable(
            f"ZooKeeper {what} during a write and the store changed since; reload before trying again",
            outcome_unknown=True,
        ) from error

    async def set_framework_id(self, framework_id: str | None) -> None:
        await asyncio.shield(self._set_framework_id(framework_id))

    async def _set_framework_id(self, framework_id: str | None) -> None:
        async with self._lock:
            deadline = self._deadline()
            while True:
                changes = await self._marker_for_write(deadline)
                self._marker_hint = None
                txid = uuid.uuid4().hex
                tx = self.bridge.client.transaction()
                tx.set_data(self.changes_path, _encode({"tx": txid, "batch": None}), version=changes.version)
                tx.set_data(f"{self.root}/framework-id", (framework_id or "").encode())
                self._remember_own(txid)
                try:
                    results = await self._commit(tx, "writing the framework id", deadline)
                except _Ambiguous as e:
                    try:
                        await self._resolve_ambiguous(e, txid, changes.version, [], deadline)
                        return
                    except _Retry:
                        continue
                if _failed_index(results) is None:
                    self._own_versions.add(changes.version + 1)
                    self._marker_hint = changes.version + 1
                    return
                if asyncio.get_running_loop().time() > deadline:
                    raise StoreUnavailable(f"{self.description} kept changing while writing the framework id")

    # ------------------------------------------------------------------ chunked batches

    async def _put_chunked(
        self, writes: list[BrokerWrite], encoded: dict[int, bytes | None], deadline: float
    ) -> NewVersions:
        self._marker_hint = None
        changes = await self._settled_changes(deadline)
        ordered = sorted(writes, key=lambda w: w.id)
        # records that must not exist are not read: their create fails in the transaction if they do
        current: dict[int, tuple[bytes | None, int | None]] = {
            w.id: (None, None) for w in ordered if w.expected_version is None
        }
        must_read = [w.id for w in ordered if w.expected_version is not None]
        if must_read:
            current.update(await self._current(must_read, deadline))
        # ... but their absence is checked up front with one listing (cheap even for 10,000 brokers), so
        # that a batch bound to fail is refused before anything is written: a rollback restores the data
        # of what it undoes, but the versions of those records move on.
        if len(must_read) < len(ordered):
            names = await self._read(
                "listing brokers",
                partial(self.bridge.client.get_children_async, f"{self.root}/brokers"),
                deadline,
            )
            for broker_id in {int(name) for name in names if name.isdigit()} & current.keys():
                if current[broker_id][1] is None:
                    current[broker_id] = (None, -1)  # exists: fails the check below
        for write in ordered:
            expected = write.expected_version
            if expected is not ANY and expected != current[write.id][1]:
                raise await self._conflict(write, deadline)
        chunks = self._chunks(ordered, encoded, current)
        txid = uuid.uuid4().hex
        owner = f"{self.root}/owners/{txid}"
        self._remember_own(txid)
        transactions: list[TransactionRequest] = []
        chunk_ops: list[tuple[int, list[BrokerWrite]]] = []  # per chunk: header operations, broker writes
        for index, chunk in enumerate(chunks):
            tx = self.bridge.client.transaction()
            if index == 0:
                marker = {"tx": txid, "batch": {"id": txid, "owner": owner}}
                tx.set_data(self.changes_path, _encode(marker), version=changes.version)
                tx.create(owner, txid.encode(), ephemeral=True)
            else:
                tx.check(owner, 0)  # fails once the batch was rolled back or our session ended
            chunk_ops.append((len(tx.operations), self._add_chunk(tx, index, chunk, encoded, current)))
            transactions.append(tx)
        # All chunks are sent at once (ZooKeeper applies them in order); each one is all or nothing
        # and carries its own undo record, so any mix of applied and failed chunks can be rolled back.
        try:
            outcomes = await self._commit_all(transactions, "writing a batch", deadline)
        except StoreUnavailable:
            self._abandoned_owners.add(owner)  # our session may live on: roll it back ourselves later
            raise
        trouble = next((o for o in outcomes if isinstance(o, _Ambiguous)), None)
        if trouble is not None:
            return await self._abort_batch(trouble, txid, owner, ordered, deadline)
        for index, results in enumerate(outcomes):
            assert isinstance(results, list)
            failed = _failed_index(results)
            if failed is None:
                continue
            if index == 0:  # nothing applied: the marker moved, or a record exists that must not
                culprit = self._culprit(chunk_ops[0], failed, len(results))
                if culprit is not None and culprit.expected_version is not ANY:
                    raise await self._conflict(culprit, deadline)
                raise _Retry()
            if failed == 0:  # our owner node is gone: the session expired in the middle of the batch
                await self._settled_changes(deadline)  # takes the batch over and rolls it back
                raise StoreUnavailable("ZooKeeper session expired during a batch write; nothing was changed")
            await self._rollback(owner, changes.version + 1, deadline)
            culprit = self._culprit(chunk_ops[index], failed, len(results))
            if culprit is not None and culprit.expected_version is not ANY:
                raise await self._conflict(culprit, deadline)
            raise ConflictError("the store changed during a batch write; nothing was changed")
        self._own_versions.add(changes.version + 1)
        await self._close_batch(owner, len(chunks), txid, changes.version + 1, deadline, ordered)
        new_versions: NewVersions = {}
        for write in ordered:
            old_version = current[write.id][1]
            if encoded[write.id] is None:
                new_versions[write.id] = None
            else:
                new_versions[write.id] = 0 if old_version is None else old_version + 1
        return new_versions

    def _add_chunk(
        self,
        tx: TransactionRequest,
        index: int,
        chunk: list[BrokerWrite],
        encoded: dict[int, bytes | None],
        current: dict[int, tuple[bytes | None, int | None]],
    ) -> list[BrokerWrite]:
        """Add a chunk's broker operations and its undo record to `tx`; returns the writes in op order."""
        op_writes: list[BrokerWrite] = []
        undo: list[list[Any]] = []
        for write in chunk:
            old_data, old_version = current[write.id]
            path = self.broker_path(write.id)
            new_data = encoded[write.id]
            if new_data is None:
                if old_version is None:
                    continue
                add_delete(tx, path, old_version)
                undo.append([write.id, "deleted", (old_data or b"").decode()])
            elif old_version is None:
                add_create(tx, path, new_data)
                undo.append([write.id, "created", None])
            else:
                add_set(tx, path, new_data, old_version)
                undo.append([write.id, "updated", (old_data or b"").decode()])
            op_writes.append(write)
        tx.create(f"{self.root}/batch-undo/{index:06d}", json.dumps(undo).encode())
        return op_writes

    @staticmethod
    def _culprit(ops: tuple[int, list[BrokerWrite]], failed: int, op_count: int) -> BrokerWrite | None:
        header_ops, op_writes = ops
        return op_writes[failed - header_ops] if header_ops <= failed < op_count - 1 else None

    async def _commit_all(
        self, transactions: list[TransactionRequest], what: str, deadline: float
    ) -> list[list[Any] | _Ambiguous]:
        """Send transactions back to back, in order; each outcome is its results, or `_Ambiguous`."""
        await self._await_connection(deadline, what)
        if self.write_guard is not None:
            self.write_guard()
        lost_before = self.bridge.sessions_lost
        futures = [self.bridge.submit(tx.commit_async) for tx in transactions]
        outcomes: list[list[Any] | _Ambiguous] = []
        try:
            for future in futures:
                remaining = deadline - asyncio.get_running_loop().time()
                try:
                    outcomes.append(await asyncio.wait_for(asyncio.shield(future), max(remaining, 0.001)))
                except SessionExpiredError as e:
                    outcomes.append(_Ambiguous(e, session_lost=True))
                except TRANSIENT as e:
                    outcomes.append(_Ambiguous(e, session_lost=self.bridge.sessions_lost != lost_before))
        except TimeoutError as e:
            # Chunks still queued may arrive later: they check the owner node, which is gone by then.
            raise StoreUnavailable(
                f"ZooKeeper {self.hosts} did not answer while {what}; nothing of it is visible and it will "
                "be rolled back when the store is next used"
            ) from e
        except ZookeeperStoppedError as e:
            raise StoreUnavailable(f"{self.description} is closed") from e
        finally:
            for future in futures:  # nobody will look at these any more
                future.add_done_callback(lambda f: f.cancelled() or f.exception())
        return outcomes

    def _chunks(
        self,
        ordered: list[BrokerWrite],
        encoded: dict[int, bytes | None],
        current: dict[int, tuple[bytes | None, int | None]],
    ) -> list[list[BrokerWrite]]:
        """Split so that each chunk's new data plus its undo record stays under the request limit."""
        chunks: list[list[BrokerWrite]] = [[]]
        size = 0
        for write in ordered:
            # the undo record (old data, JSON-escaped) travels in the same transaction
            cost = len(encoded[write.id] or b"") + 2 * len(current[write.id][0] or b"") + 2 * OP_OVERHEAD
            if chunks[-1] and (size + cost > MAX_TX_BYTES or len(chunks[-1]) >= MAX_TX_OPS // 2):
                chunks.append([])
                size = 0
            chunks[-1].append(write)
            size += cost
        return chunks

    async def _close_batch(
        self,
        owner: str,
        chunk_count: int,
        txid: str,
        marker_version: int,
        deadline: float,
        writes: list[BrokerWrite],
    ) -> None:
        tx = self.bridge.client.transaction()
        tx.check(owner, 0)
        for index in range(chunk_count):
            tx.delete(f"{self.root}/batch-undo/{index:06d}")
        tx.delete(owner)
        tx.set_data(self.changes_path, _encode({"tx": txid, "batch": None}), version=marker_version)
        try:
            results = await self._commit(tx, "closing a batch write", deadline)
        except _Ambiguous as e:
            await self._abort_batch(e, txid, owner, writes, deadline)
            return
        if _failed_index(results) is not None:  # our owner node is gone: the session expired
            await self._settled_changes(deadline)  # takes the batch over and rolls it back
            raise StoreUnavailable(
                "ZooKeeper session expired before a batch write was closed; nothing was changed"
            )
        self._own_versions.add(marker_version + 1)

    async def _abort_batch(
        self, error: _Ambiguous, txid: str, owner: str, writes: list[BrokerWrite], deadline: float
    ) -> NewVersions:
        """Connection trouble in the middle of a batch: finish it as all or nothing, then report."""
        self._abandoned_owners.add(owner)
        try:
            changes = await self._read_changes(deadline)
        except StoreUnavailable:
            raise StoreUnavailable(
                "ZooKeeper went away during a batch write; nothing of it is visible and it will be rolled "
                "back when the store is next used"
            ) from error
        if changes.tx == txid and changes.batch_id is None:  # the closing transaction made it
            self._abandoned_owners.discard(owner)
            current = await self._current([w.id for w in writes], deadline)
            return {w.id: current[w.id][1] for w in writes}
        if changes.batch_id == txid:
            await self._settled_changes(deadline)  # rolls it back (ours or taken over)
        self._abandoned_owners.discard(owner)
        raise StoreUnavailable(
            "ZooKeeper connection lost during a batch write; nothing was changed"
        ) from error

    async def _take_over(self, changes: _Changes, deadline: float) -> None:
        """Own a batch whose owner is gone (by a versioned write of the marker), then roll it back."""
        self._marker_hint = None
        owner = f"{self.root}/owners/{uuid.uuid4().hex}"
        txid = uuid.uuid4().hex
        tx = self.bridge.client.transaction()
        marker = {"tx": txid, "batch": {"id": changes.batch_id, "owner": owner}}
        tx.set_data(self.changes_path, _encode(marker), version=changes.version)
        tx.create(owner, txid.encode(), ephemeral=True)
        self._remember_own(txid)
        try:
            results = await self._commit(tx, "taking over an abandoned batch", deadline)
        except _Ambiguous:
            return  # the caller reads the marker again
        if _failed_index(results) is not None:
            return  # someone else took it over first
        self._own_versions.add(changes.version + 1)
        await self._rollback(owner, changes.version + 1, deadline)

    async def _rollback(self, owner: str, marker_version: int, deadline: float) -> None:
        """Undo an open batch we own, chunk by chunk (newest first), then close it."""
        self._marker_hint = None
        client = self.bridge.client
        undo_dir = f"{self.root}/batch-undo"
        while True:
            names = await self._read(
                "listing undo records", partial(client.get_children_async, undo_dir), deadline
            )
            for name in sorted(names, reverse=True):
                await self._undo_chunk(owner, f"{undo_dir}/{name}", deadline)
            txid = uuid.uuid4().hex
            tx = client.transaction()
            # Deleting and re-creating the undo directory fails if a chunk that was still on its way
            # arrived meanwhile (it has an undo record): then that one is undone too.
            tx.delete(undo_dir)
            tx.create(undo_dir, b"")
            tx.delete(owner)
            tx.set_data(self.changes_path, _encode({"tx": txid, "batch": None}), version=marker_version)
            self._remember_own(txid)
            try:
                results = await self._commit(tx, "closing a rolled-back batch", deadline)
            except _Ambiguous as e:
                raise StoreUnavailable("connection lost while closing a rolled-back batch") from e
            failed = _failed_index(results)
            if failed is None:
                self._own_versions.add(marker_version + 1)
                return
            if failed != 0:
                raise StoreUnavailable(f"cannot close rolled-back batch: {results[failed]!r}")

    async def _undo_chunk(self, owner: str, undo_path: str, deadline: float) -> None:
        client = self.bridge.client
        raw, _ = await self._read("reading an undo record", partial(client.get_async, undo_path), deadline)
        tx = client.transaction()
        tx.check(owner, 0)
        for broker_id, action, old in json.loads(raw):
            path = self.broker_path(int(broker_id))
            if action == "created":
                add_delete(tx, path, -1)
            elif action == "updated":
                add_set(tx, path, old.encode(), -1)
            else:
                add_create(tx, path, old.encode())
        tx.delete(undo_path)
        try:
            results = await self._commit(tx, "rolling back a batch", deadline)
        except _Ambiguous as e:
            raise StoreUnavailable("connection lost rolling back a batch; it will be resumed") from e
        if (failed := _failed_index(results)) is not None:
            raise StoreUnavailable(f"cannot roll back batch chunk {undo_path}: {results[failed]!r}")
