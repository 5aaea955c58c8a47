"""The Mesos scheduler: event handlers that take a snapshot, let core decide, persist, then call Mesos.

Order of effects is the point of this module:
- SUBSCRIBED: the framework id is persisted before anything else happens.
- OFFERS: task records are persisted before ACCEPT goes out (a crash in between leaves a task the
  reconciliation finds, never an unknown running broker).
- UPDATE: the new state is persisted before the ACKNOWLEDGE (a crash in between makes Mesos resend it).
- Nothing is launched until the reconciliation that follows every SUBSCRIBED has finished.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kafka_mesos.core import reconcile as recon
from kafka_mesos.core.constraints import placements_of
from kafka_mesos.core.executors import executors_in_use, reusable_executors
from kafka_mesos.core.failover import DEFAULT_STABLE_AFTER, settle
from kafka_mesos.core.lifecycle import (
    Action,
    KillTask,
    on_launch,
    on_placement_failed,
    on_status,
)
from kafka_mesos.core.matching import LaunchDecision, match
from kafka_mesos.core.model import TASK_RUNNING, TERMINAL_STATES, Broker
from kafka_mesos.mesos import calls
from kafka_mesos.mesos.pb import mesos_pb2, scheduler_pb2
from kafka_mesos.scheduler.crash import AFTER_PERSIST_BEFORE_ACCEPT, AFTER_PERSIST_BEFORE_ACK, CrashPoints
from kafka_mesos.scheduler.decisions import (
    StatusInfo,
    brokers_wanting_offers,
    next_wakeup,
    tasks_to_kill,
)
from kafka_mesos.scheduler.eligibility import Eligibility, offer_eligibility
from kafka_mesos.scheduler.logs import LogReplyError, LogRequests
from kafka_mesos.scheduler.offer_interest import OfferCall, OfferInterest
from kafka_mesos.scheduler.settling import brokers_to_settle
from kafka_mesos.scheduler.taskids import broker_id_of, new_executor_id, new_task_id
from kafka_mesos.scheduler.translate import (
    LaunchContext,
    Placement,
    core_offer,
    shared_executor_info,
    task_info,
)

log = logging.getLogger(__name__)


class BrokerLogError(Exception):
    """A broker's log cannot be fetched; the message is for the operator."""

Call = scheduler_pb2.Call
Event = scheduler_pb2.Event


class Caller(Protocol):
    """What the scheduler needs from the Mesos session."""

    async def call(self, call: scheduler_pb2.Call) -> Any: ...


class Cluster(Protocol):
    """What the scheduler needs from ClusterState."""

    @property
    def framework_id(self) -> str | None: ...

    async def set_framework_id(self, framework_id: str | None) -> None: ...

    def snapshot(self) -> Mapping[int, Broker]: ...

    async def mutate(self, ids: Sequence[int], change: Callable[[Broker], Broker]) -> Mapping[int, Broker]:
        """Apply `change` to the current record of each existing broker in `ids` (a copy it may modify),
        persist the results in one write, and return them. Brokers that do not exist are skipped."""
        ...


@dataclass(frozen=True)
class SchedulerConfig:
    framework_name: str = "kafka"
    role: str = "*"
    decline_seconds: float = 3600.0
    accept_refuse_seconds: float = 1.0
    reconciling_refuse_seconds: float = 2.0
    revive_interval: float = 1.0
    reconciliation_timeout: float = 5.0
    reconciliation_attempts: int = 6
    reconcile_interval: float = 300.0
    kill_retry_interval: float = 30.0
    stable_after: float = DEFAULT_STABLE_AFTER  # RUNNING this long resets the failure counter
    launch: LaunchContext | None = None
    # Status updates that arrive while one is being persisted share the next write (and their ACKs go out
    # together after it); off, each update is persisted and acknowledged before the next event is read.
    batch_updates: bool = True
    cannot_launch: str | None = None  # why no launch is possible at all (no Kafka distribution, no --zk)


class Scheduler:
    """The session's event handler and the API's SchedulerControl."""

    def __init__(
        self,
        cluster: Cluster,
        config: SchedulerConfig,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cluster = cluster
        self.config = config
        self.clock = clock
        self._caller: Caller | None = None
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._force_revive = False
        self._interest = OfferInterest(revive_interval=config.revive_interval)
        self._policy = recon.ReconcilePolicy(
            first_delay=config.reconciliation_timeout, max_attempts=config.reconciliation_attempts,
            interval=config.reconcile_interval,
        )
        self._recon = recon.Reconciliation(gating=False)
        self._last_periodic_reconcile: float | None = None
        self._wanting: Eligibility = frozenset()
        self._kill_sent: dict[str, float] = {}
        self._logs = LogRequests()
        self._background: set[asyncio.Task[None]] = set()
        self._connected = False
        self._framework_id: str | None = cluster.framework_id
        self._stopping = False
        self._crash = CrashPoints.from_environment()
        self._pending_updates: list[mesos_pb2.TaskStatus] = []
        self._update_drain: asyncio.Task[None] | None = None
        # Shared executors this process launched: Mesos wants the same ExecutorInfo for each of their tasks.
        self._shared_executors: dict[str, mesos_pb2.ExecutorInfo] = {}

    # ---- wiring ---------------------------------------------------------------------------------------

    def attach(self, caller: Caller) -> None:
        self._caller = caller

    async def _call(self, call: scheduler_pb2.Call) -> None:
        if self._caller is None:
            raise RuntimeError("scheduler has no Mesos session attached")
        await self._caller.call(call)

    # ---- session handler ------------------------------------------------------------------------------

    async def on_subscribed(self, framework_id: str, master_info: Any = None) -> None:
        # Persist the id before anything can use it: a crash right after SUBSCRIBED must still find it.
        if self.cluster.framework_id != framework_id:
            await self.cluster.set_framework_id(framework_id)
        self._framework_id = framework_id
        self._connected = True
        self._interest.reset()
        self._kill_sent.clear()
        log.info("subscribed as framework %s", framework_id)
        async with self._lock:
            await self._start_reconciliation()
            await self._adjust_offers(force_revive=True)
        self._wake.set()

    async def on_disconnected(self, reason: object) -> None:
        self._connected = False
        self._logs.fail_all(f"scheduler lost its Mesos connection: {reason}")
        log.warning("disconnected from Mesos: %s", reason)

    async def on_framework_removed(self) -> None:
        """Mesos forgot our framework (failover timeout passed, or teardown): the id is dead."""
        await self.cluster.set_framework_id(None)
        self._framework_id = None

    async def on_event(self, event: scheduler_pb2.Event) -> None:
        kind = event.type
        if kind == Event.OFFERS:
            async with self._lock:
                await self._on_offers(list(event.offers.offers))
        elif kind == Event.UPDATE:
            if self.config.batch_updates:
                self._enqueue_update(event.update.status)
            else:
                async with self._lock:
                    await self._on_updates([event.update.status])
        elif kind == Event.MESSAGE:
            if not self._logs.resolve(event.message.data):
                log.debug("unmatched executor message from %s", event.message.executor_id.value)
        elif kind == Event.FAILURE:
            failure = event.failure
            log.info("failure: agent %s executor %s status %s", failure.agent_id.value,
                     failure.executor_id.value, failure.status if failure.HasField("status") else "-")
        elif kind == Event.ERROR:
            log.error("Mesos error: %s", event.error.message)
        elif kind == Event.RESCIND:
            log.debug("offer %s rescinded", event.rescind.offer_id.value)

    # ---- offers ---------------------------------------------------------------------------------------

    async def _on_offers(self, offers: list[mesos_pb2.Offer]) -> None:
        now = self.clock()
        offer_ids = [o.id.value for o in offers]
        if not self._recon.gate_open:
            await self._call(calls.decline(offer_ids, self.config.reconciling_refuse_seconds))
            return
        brokers = self.cluster.snapshot()
        wanting = brokers_wanting_offers(brokers.values(), now)
        if not wanting:
            await self._call(calls.decline(offer_ids, self.config.decline_seconds))
            await self._adjust_offers()
            return
        if self.config.launch is None or self.config.cannot_launch:
            reason = self.config.cannot_launch or "no launch configuration"
            await self._record_reasons({b.id: reason for b in wanting})
            await self._call(calls.decline(offer_ids, self.config.decline_seconds))
            return
        placements, reasons = self._decide_placements(brokers, offers, now)  # core decides
        launched = await self._persist_launches(placements, now)
        if launched:
            self._crash.reached(AFTER_PERSIST_BEFORE_ACCEPT)
        await self._record_reasons(reasons)
        used = await self._accept(launched)
        unused = [offer_id for offer_id in offer_ids if offer_id not in used]
        if unused:
            await self._call(calls.decline(unused, self.config.decline_seconds))
        await self._adjust_offers()

    def _decide_placements(
        self, brokers: Mapping[int, Broker], offers: list[mesos_pb2.Offer], now: float
    ) -> tuple[list[tuple[LaunchDecision, Placement]], dict[int, str]]:
        ctx = self.config.launch
        assert ctx is not None
        shared = ctx.shared_executor
        in_use = executors_in_use(brokers.values())
        for gone in set(self._shared_executors) - in_use:
            del self._shared_executors[gone]
        hosting = reusable_executors(brokers.values(), self._shared_executors) if shared else {}
        result = match(brokers.values(), [core_offer(o) for o in offers], placements_of(brokers.values()),
                       now, framework_role=self.config.role, executor_cpus=ctx.executor_cpus,
                       executor_mem=ctx.executor_mem, shared_executor=shared,
                       agents_with_executor=set(hosting))
        placements = []
        for d in result.launches:
            task_id = new_task_id(self.config.framework_name, d.broker_id)
            placement = Placement(
                broker_id=d.broker_id, task_id=task_id, offer_id=d.offer_id, agent_id=d.agent_id,
                hostname=d.hostname, port=d.port, role=d.role, attributes=tuple(sorted(d.attributes.items())),
                task_resources=d.task_resources, executor_resources=d.executor_resources,
                executor_id=task_id,
            )
            if shared:
                if d.new_executor:  # matching took this agent's executor resources with this broker
                    executor_id = new_executor_id(self.config.framework_name)
                    info = shared_executor_info(ctx, executor_id, placement)
                    if self._framework_id:  # as the master stores it: later tasks compare equal to it
                        info.framework_id.value = self._framework_id
                    self._shared_executors[executor_id] = info
                    hosting[d.agent_id] = executor_id
                placement = dataclasses.replace(placement, executor_id=hosting[d.agent_id])
            placements.append((d, placement))
        reasons = {broker_id: "; ".join(texts) for broker_id, texts in result.reasons.items() if texts}
        return placements, reasons

    async def _persist_launches(
        self, placements: list[tuple[LaunchDecision, Placement]], now: float
    ) -> list[tuple[Broker, Placement]]:
        by_id = {p.broker_id: (d, p) for d, p in placements}

        def launch(broker: Broker) -> Broker:
            if not broker.active or broker.task is not None:
                return broker  # the operator changed it meanwhile: do not launch
            decision, placement = by_id[broker.id]
            return on_launch(broker, decision, placement.task_id, placement.executor_id, now)

        saved = await self.cluster.mutate(list(by_id), launch) if by_id else {}
        launched = []
        for _, placement in placements:
            broker = saved.get(placement.broker_id)
            if broker is not None and broker.task is not None and broker.task.task_id == placement.task_id:
                launched.append((broker, placement))
        return launched

    async def _accept(self, launched: list[tuple[Broker, Placement]]) -> set[str]:
        ctx = self.config.launch
        assert ctx is not None
        by_offer: dict[str, list[mesos_pb2.TaskInfo]] = {}
        for broker, placement in launched:
            executor = self._shared_executors.get(placement.executor_id)
            by_offer.setdefault(placement.offer_id, []).append(task_info(ctx, broker, placement, executor))
        for offer_id, tasks in by_offer.items():
            try:
                refuse = self.config.accept_refuse_seconds
                await self._call(calls.accept([offer_id], [calls.launch(tasks)], refuse))
            except Exception as e:  # (the launch did not go out: undo the records)
                log.warning("ACCEPT of offer %s failed: %s", offer_id, e)
                await self._forget_tasks([t.task_id.value for t in tasks], f"launch failed: {e}")
        return set(by_offer)

    async def _forget_tasks(self, task_ids: list[str], reason: str) -> None:
        by_broker = {broker_id_of(self.config.framework_name, t): t for t in task_ids}

        def forget(broker: Broker) -> Broker:
            if broker.task is not None and broker.task.task_id == by_broker.get(broker.id):
                broker.task = None
                broker.placement_reason = reason
            return broker

        ids = [i for i in by_broker if i is not None]
        if ids:
            await self.cluster.mutate(ids, forget)

    async def _record_reasons(self, reasons: Mapping[int, str]) -> None:
        brokers = self.cluster.snapshot()
        ids = [i for i, reason in reasons.items()
               if i in brokers and brokers[i].task is None and brokers[i].placement_reason != reason]

        def record(broker: Broker) -> Broker:
            return on_placement_failed(broker, reasons[broker.id]) if broker.task is None else broker

        if ids:
            await self.cluster.mutate(ids, record)

    # ---- status updates -------------------------------------------------------------------------------

    def _enqueue_update(self, status: mesos_pb2.TaskStatus) -> None:
        self._pending_updates.append(status)
        if self._update_drain is None or self._update_drain.done():
            self._update_drain = asyncio.get_running_loop().create_task(
                self._drain_updates(), name="scheduler-status-updates"
            )

    async def _drain_updates(self) -> None:
        while self._pending_updates:
            batch, self._pending_updates = self._pending_updates, []
            try:
                async with self._lock:
                    await self._on_updates(batch)
            except Exception as e:  # not acknowledged: Mesos sends them again
                log.warning("%d status update(s) not handled: %s", len(batch), e)

    async def flush(self) -> None:
        """Wait until every status update received so far is persisted and acknowledged."""
        while self._update_drain is not None and not self._update_drain.done():
            await asyncio.shield(self._update_drain)

    async def _on_updates(self, statuses: list[mesos_pb2.TaskStatus]) -> None:
        """Status updates in arrival order: all persisted in one write, then each acknowledged."""
        now = self.clock()
        infos = [status_info(status) for status in statuses]
        snapshot = self.cluster.snapshot()
        actions: list[Action] = []
        by_broker: dict[int, list[StatusInfo]] = {}
        for info in infos:
            self._recon = recon.answered(self._recon, info.task_id)
            broker_id = broker_id_of(self.config.framework_name, info.task_id)
            if broker_id is None or broker_id not in snapshot:
                log.info("update %s for unknown task %s", info.state, info.task_id)
                if info.state not in TERMINAL_STATES:  # launched before a crash, or for a removed broker
                    actions.append(KillTask(info.task_id, info.agent_id, "unknown task"))
                continue
            by_broker.setdefault(broker_id, []).append(info)

        results: dict[int, list[Action]] = {}
        changed: list[int] = []
        for broker_id, broker_infos in by_broker.items():
            updated, results[broker_id] = self._status_changes(snapshot[broker_id], broker_infos, now)
            if updated is not snapshot[broker_id]:
                changed.append(broker_id)

        def change(current: Broker) -> Broker:
            updated, results[current.id] = self._status_changes(current, by_broker[current.id], now)
            return updated

        if changed:  # persist first ...
            await self.cluster.mutate(changed, change)
        for broker_id in by_broker:
            actions.extend(results.get(broker_id, []))
        await self._perform(actions)
        acknowledgements = []
        for status, info in zip(statuses, infos, strict=True):
            if status.HasField("uuid"):  # ... acknowledge second, and only what Mesos will resend
                self._crash.reached(AFTER_PERSIST_BEFORE_ACK)
                acknowledgements.append(calls.acknowledge(info.agent_id or "", info.task_id, status.uuid))
        await asyncio.gather(*(self._call(ack) for ack in acknowledgements))
        for ack in acknowledgements:
            log.debug("acknowledged %s of %s", _state_of(statuses, ack), ack.acknowledge.task_id.value)
        if any(info.state in TERMINAL_STATES for info in infos):
            for info in infos:
                if info.state in TERMINAL_STATES:
                    self._kill_sent.pop(info.task_id, None)
            self._wake.set()
        await self._adjust_offers()

    def _status_changes(
        self, broker: Broker, infos: list[StatusInfo], now: float
    ) -> tuple[Broker, list[Action]]:
        actions: list[Action] = []
        for info in infos:
            broker, more = self._status_change(broker, info, now)
            actions.extend(more)
        return broker, actions

    def _status_change(self, broker: Broker, info: StatusInfo, now: float) -> tuple[Broker, list[Action]]:
        return on_status(broker, info.task_id, info.state, info.reason, info.message, info.data, now,
                         agent_id=info.agent_id, stable_after=self.config.stable_after)

    async def _perform(self, actions: list[Action]) -> None:
        for action in actions:
            log.info("killing task %s: %s", action.task_id, action.reason)
            await self._call(calls.kill(action.task_id, action.agent_id))

    # ---- reconciliation -------------------------------------------------------------------------------

    async def _start_reconciliation(self) -> None:
        brokers = self.cluster.snapshot()
        ids = [b.id for b in brokers.values() if b.task is not None and not b.task.reconciling]
        if ids:
            await self.cluster.mutate(ids, recon.mark_reconciling)
        now = self.clock()
        self._recon, request = recon.begin(self.cluster.snapshot().values(), now, self._policy)
        self._last_periodic_reconcile = now
        await self._send_reconcile(request)

    async def _send_reconcile(self, request: recon.ReconcileRequest) -> None:
        if request.implicit:
            await self._call(calls.reconcile())  # implicit: also reveals tasks we do not know
        if request.explicit:
            await self._call(calls.reconcile((t.task_id, t.agent_id) for t in request.explicit))

    async def _reconcile_tick(self) -> None:
        now = self.clock()
        self._recon, request = recon.tick(self._recon, now, self._policy)
        if request.explicit:
            log.info("reconciling %d task(s) again (attempt %d)", len(request.explicit), self._recon.attempts)
        await self._send_reconcile(request)
        for ref in self._recon.given_up:
            await self._give_up(ref)
        if self._recon.finished and self.config.reconcile_interval > 0 and recon.periodic_due(
                self._last_periodic_reconcile, now, self._policy):
            brokers = self.cluster.snapshot().values()
            self._recon, request = recon.begin(brokers, now, self._policy, gating=False)
            self._last_periodic_reconcile = now
            await self._send_reconcile(request)

    async def _give_up(self, ref: recon.TaskRef) -> None:
        """Reconciliation never answered for this task: lost (the broker relaunches) and killed for safety."""
        log.warning("no reconciliation answer for task %s; treating it as lost", ref.task_id)
        broker_id = broker_id_of(self.config.framework_name, ref.task_id)
        now, attempts = self.clock(), self._recon.attempts
        actions: list[Action] = [KillTask(ref.task_id, ref.agent_id, "reconciliation gave up")]
        if broker_id is not None and broker_id in self.cluster.snapshot():
            results: list[list[Action]] = []

            def change(broker: Broker) -> Broker:
                updated, give_up_actions = recon.give_up(broker, ref, now, attempts)
                results.append(give_up_actions)
                return updated

            await self.cluster.mutate([broker_id], change)
            actions = results[-1] if results else actions
        await self._perform(actions)

    # ---- periodic work: kills, revive/suppress, timers -------------------------------------------------

    async def run(self) -> None:
        """The timer loop: runs the periodic work whenever woken or when the next deadline passes."""
        while not self._stopping:
            timeout = self._next_tick_in()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass
            self._wake.clear()
            if not self._connected:
                continue
            force = self._force_revive
            self._force_revive = False
            try:
                await self.tick(force_revive=force)
            except Exception as e:  # (a failed call must not end the loop; it is retried)
                log.warning("periodic scheduler work failed: %s", e)
                self._force_revive = self._force_revive or force

    async def tick(self, force_revive: bool = False) -> None:
        """One round of periodic work: reconciliation retries, kills of stopped brokers, revive/suppress."""
        async with self._lock:
            await self._reconcile_tick()
            await self._settle_running()
            await self._kill_stopped()
            await self._adjust_offers(force_revive=force_revive)

    def _next_tick_in(self) -> float:
        deadlines = [1.0]  # kills are re-sent and reconciliation retried on this beat at the latest
        now = self.clock()
        wake_at = next_wakeup(self.cluster.snapshot().values(), now)
        if wake_at is not None:
            deadlines.append(wake_at - now)
        due = self._interest.revive_due_at()
        if due is not None:
            deadlines.append(due - time.monotonic())
        return max(0.01, min(deadlines))

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._update_drain is not None:
            self._update_drain.cancel()
            await asyncio.gather(self._update_drain, return_exceptions=True)
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        self._logs.fail_all("scheduler stopping")

    async def _settle_running(self) -> None:
        now, stable_after = self.clock(), self.config.stable_after
        ids = brokers_to_settle(self.cluster.snapshot(), now, stable_after)
        if ids:
            await self.cluster.mutate(ids, lambda broker: settle(broker, now, stable_after))

    async def _kill_stopped(self) -> None:
        ids = [b.id for b in tasks_to_kill(self.cluster.snapshot())]
        now_epoch = self.clock()

        def mark(broker: Broker) -> Broker:
            if broker.active or broker.task is None or broker.task.stopping:
                return broker
            broker.task = dataclasses.replace(broker.task, stopping=True)
            return broker.with_event(now_epoch, "stopping", "stop requested")

        if ids:  # remembered as stopping before the kill goes out
            await self.cluster.mutate(ids, mark)
        now = time.monotonic()
        for broker in self.cluster.snapshot().values():
            task = broker.task
            if task is None or not task.stopping or task.reconciling:
                continue
            sent = self._kill_sent.get(task.task_id)
            if sent is None or now - sent >= self.config.kill_retry_interval:
                self._kill_sent[task.task_id] = now
                await self._call(calls.kill(task.task_id, task.agent_id))

    async def _adjust_offers(self, force_revive: bool = False) -> None:
        if not self._connected:
            return
        wanting_ids = offer_eligibility(self.cluster.snapshot().values(), self.clock())
        # A broker that just became eligible (started, failover delay over, stickiness expired) needs the
        # refuse filters of earlier declines cleared: that is a REVIVE even when offers are not suppressed.
        force_revive = force_revive or bool(wanting_ids - self._wanting)
        self._wanting = wanting_ids
        wanting = bool(wanting_ids)
        if not self._recon.gate_open:
            wanting = True  # offers are declined briefly until the gate opens; do not suppress meanwhile
        now = time.monotonic()
        decision = self._interest.decide(wanting, now, force_revive=force_revive)
        if decision is OfferCall.REVIVE:
            await self._call(calls.revive([self.config.role]))
        elif decision is OfferCall.SUPPRESS:
            await self._call(calls.suppress([self.config.role]))
        if decision is not None:
            self._interest.done(decision, now)
            log.debug("offers %s", decision.value)

    # ---- SchedulerControl -----------------------------------------------------------------------------

    def wake(self) -> None:
        self._force_revive = True
        self._wake.set()

    def force_stop(self, broker_ids: Sequence[int]) -> None:
        self._spawn(self._force_stop(list(broker_ids)))

    async def _force_stop(self, broker_ids: list[int]) -> None:
        brokers = self.cluster.snapshot()
        for broker_id in broker_ids:
            broker = brokers.get(broker_id)
            if broker is None or broker.task is None:
                continue
            task = broker.task
            try:  # a zero grace period makes the executor kill Kafka at once (no clean shutdown)
                self._kill_sent[task.task_id] = time.monotonic()
                await self._call(calls.kill(task.task_id, task.agent_id, grace_period_seconds=0.0))
            except Exception as e:
                log.warning("force stop of broker %s failed: %s", broker_id, e)
        self._wake.set()

    def status(self) -> Mapping[str, Any]:
        return {
            "connected": self._connected,
            "frameworkId": self._framework_id,
            "reconciling": self._recon.outstanding,
            "suppressed": self._interest.suppressed,
        }

    async def broker_log(self, broker_id: int, name: str, lines: int, timeout: float) -> str:  # noqa: ASYNC109
        broker = self.cluster.snapshot().get(broker_id)
        if broker is None:
            raise BrokerLogError(f"broker {broker_id} not found")
        if not broker.active:
            raise BrokerLogError(f"broker {broker_id} is not active")
        task = broker.task
        if task is None or task.state != TASK_RUNNING:
            raise BrokerLogError(f"broker {broker_id} is not running")
        if not self._connected:
            raise BrokerLogError("the scheduler is not connected to Mesos")
        request_id, payload = self._logs.new_request(name, lines, task.task_id)
        try:
            await self._call(calls.message(task.agent_id, task.executor_id, payload))
            return await self._logs.wait(request_id, timeout)
        except TimeoutError:
            raise TimeoutError(f"broker {broker_id} log retrieve timeout") from None
        except LogReplyError as e:
            raise BrokerLogError(str(e)) from None
        finally:
            self._logs.forget(request_id)

    def _spawn(self, coro: Awaitable[None]) -> None:
        async def runner() -> None:
            await coro

        task = asyncio.get_running_loop().create_task(runner(), name="scheduler-background")
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _state_of(statuses: list[mesos_pb2.TaskStatus], ack: scheduler_pb2.Call) -> str:
    for status in statuses:
        if status.uuid == ack.acknowledge.uuid:
            return mesos_pb2.TaskState.Name(status.state)
    return "?"


def status_info(status: mesos_pb2.TaskStatus) -> StatusInfo:
    return StatusInfo(
        task_id=status.task_id.value,
        state=mesos_pb2.TaskState.Name(status.state),
        agent_id=status.agent_id.value if status.HasField("agent_id") else None,
        reason=mesos_pb2.TaskStatus.Reason.Name(status.reason) if status.HasField("reason") else None,
        source=mesos_pb2.TaskStatus.Source.Name(status.source) if status.HasField("source") else None,
        message=status.message if status.HasField("message") else None,
        data=status.data,
        has_uuid=status.HasField("uuid"),
    )
