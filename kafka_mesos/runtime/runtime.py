"""The composition root: settings → store → ClusterState → (local Mesos) → artifacts → API → Mesos session.

Startup, main loop, shutdown: `SchedulerRuntime.start()` builds and starts everything in order,
`wait()` returns when a stop was asked for or a component died, `stop()` undoes start in reverse order.
Every background activity is a named asyncio task that `stop()` cancels and awaits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

from aiohttp import web

from kafka_mesos.api.app import build_app
from kafka_mesos.api.auth import AuthConfigError, api_auth_from
from kafka_mesos.localmesos.port_shares import per_agent_resources
from kafka_mesos.mesos import codec
from kafka_mesos.mesos.pb import mesos_pb2
from kafka_mesos.runtime.artifacts import Artifacts, prepare_artifacts
from kafka_mesos.runtime.bind_address import BindAddressError, resolve_bind_address
from kafka_mesos.runtime.control import SchedulerControlAdapter
from kafka_mesos.runtime.leadership import HighAvailability, NotLeaderCaller
from kafka_mesos.scheduler.scheduler import Scheduler, SchedulerConfig
from kafka_mesos.scheduler.translate import LaunchContext
from kafka_mesos.settings import Settings

log = logging.getLogger(__name__)


class StartupError(Exception):
    """The scheduler cannot start; the message is the one line shown to the operator."""


class SchedulerRuntime:
    def __init__(self, settings: Settings, *, workdir: Path | None = None) -> None:
        self.settings = settings
        self.workdir = workdir or Path.cwd()
        self.api_url = settings.api
        self.master_url: str | None = None
        self.scheduler: Scheduler | None = None
        self._store: Any = None
        self._cluster: Any = None
        self._local_mesos: Any = None
        self._session: Any = None
        self._runner: web.AppRunner | None = None
        self._topics_zk: Any = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._files_dir: Path | None = None
        self._done = asyncio.Event()
        self.exit_code = 0
        self.ha = HighAvailability() if settings.ha_enabled else None
        """Leader election (`--ha`): None when this scheduler runs alone."""

    # ---- startup ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        s = self.settings
        log.info("settings: %s", s.summary())
        try:
            await self._open_state()
            listener = self._bind_api()
            self._files_dir = Path(tempfile.mkdtemp(prefix="kafka-mesos-files-"))
            artifacts = await asyncio.to_thread(prepare_artifacts, s, self.workdir, self._files_dir)
            self.scheduler = Scheduler(self._cluster, self._scheduler_config(artifacts))
            await self._serve_api(listener, artifacts)
            await self._start_mesos()
        except StartupError:
            await self.stop()
            raise
        except Exception as e:
            await self.stop()
            ours = type(e).__module__.startswith("kafka_mesos.")
            raise StartupError(str(e) if ours else f"{type(e).__name__}: {e}") from e

    async def _open_state(self) -> None:
        from kafka_mesos.state import ClusterState, open_store

        try:
            self._store = open_store(self.settings.storage, self.settings.zk,
                                     session_timeout=self.settings.zk_session_timeout)
            if self.ha is not None:
                self._store = self.ha.fence(self._store)
            self._cluster = await ClusterState.open(self._store)
        except ValueError as e:
            raise StartupError(str(e)) from e

    def _bind_api(self) -> socket.socket:
        try:
            host = resolve_bind_address(self.settings.listen_host)
        except BindAddressError as e:
            raise StartupError(str(e)) from e
        port = self.settings.api_port
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((host, port))
        except OSError as e:
            listener.close()
            raise StartupError(f"cannot listen on {host}:{port} for the API: {e.strerror}") from e
        listener.listen(128)
        listener.setblocking(False)
        if port == 0:  # `--api http://host:0`: a free port, and the URL says which
            self.settings = self.settings.with_api_port(listener.getsockname()[1])
        self.api_url = self.settings.api
        return listener

    def _scheduler_config(self, artifacts: Artifacts) -> SchedulerConfig:
        s = self.settings
        cannot_launch = artifacts.problem
        if cannot_launch is None and not s.zk:
            cannot_launch = "no --zk given: brokers need Kafka's ZooKeeper (--zk HOST:PORT[/chroot])"
        launch = LaunchContext(
            framework_name=s.framework_name, api_url=self.api_url, zk_connect=s.zk or "",
            executor_python=s.executor_python, executor_cpus=s.executor_cpus, executor_mem=s.executor_mem,
            executor_file=artifacts.executor_name, dist_name=artifacts.dist_name, dist_url=artifacts.dist_url,
            dist_top_dir=artifacts.dist_top_dir, stop_grace_period=s.stop_grace_period, user=s.user,
            shared_executor=s.executor_scope == "agent",
        )
        return SchedulerConfig(
            framework_name=s.framework_name, role=s.framework_role, decline_seconds=s.decline_seconds,
            revive_interval=s.revive_interval, reconciliation_timeout=s.reconciliation_timeout,
            reconciliation_attempts=s.reconciliation_attempts, reconcile_interval=s.reconcile_interval,
            stable_after=s.failover_stable_after, launch=launch, cannot_launch=cannot_launch,
        )

    async def _serve_api(self, listener: socket.socket, artifacts: Artifacts) -> None:
        assert self.scheduler is not None
        try:
            auth = api_auth_from(self.settings.api_auth, self.settings.api_token_file)
        except AuthConfigError as e:
            raise StartupError(f"API authentication: {e}") from None
        control = SchedulerControlAdapter(self.scheduler)
        api_control = self.ha.control(control) if self.ha else control
        app = build_app(self._cluster, api_control, files=artifacts.files,
                        on_quit=self.request_stop, auth=auth, topics=await self._open_topics())
        if self.ha is not None:
            self.ha.install(app, self.api_url)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        await web.SockSite(self._runner, listener).start()
        log.info("api: %s (listening on %s)", self.api_url, listener.getsockname())

    async def _open_topics(self) -> Any:
        """Kafka's topic metadata on the `--zk` ensemble (None without --zk or when it is unreachable)."""
        from kafka_mesos.kafka.topics import ZkTopicBackend
        from kafka_mesos.state.zkbridge import ZkBridge
        from kafka_mesos.state.zkpaths import parse_zk_connect

        if not self.settings.zk:
            return None
        hosts, chroot = parse_zk_connect(self.settings.zk)
        bridge = ZkBridge(hosts, self.settings.zk_session_timeout)
        try:
            await bridge.start(15.0)
        except TimeoutError as e:
            log.warning("topic routes unavailable: %s", e)
            return None
        self._topics_zk = bridge
        return ZkTopicBackend(bridge, chroot)

    async def _start_mesos(self) -> None:
        s = self.settings
        assert self.scheduler is not None
        master: str = s.master
        if s.is_local_master:
            from kafka_mesos.localmesos.cluster import LocalMesos
            from kafka_mesos.localmesos.config import LocalMesosConfig

            config = LocalMesosConfig(
                port=s.local_port, agents=s.local_agents, resources=s.local_resources,
                attributes=s.local_attributes, allocation_interval=max(s.local_allocation_interval, 0.01),
                agent_resources=per_agent_resources(s.local_resources, s.local_agents),
                work_dir=Path(s.local_work_dir) if s.local_work_dir else None,
            )
            self._local_mesos = LocalMesos(config)
            await self._local_mesos.start()
            master = self._local_mesos.master_url
            log.info("local Mesos: %s with %d agents", master, s.local_agents)
        self.master_url = master
        if self.ha is not None:
            await self._start_ha(master)
            return
        self._spawn(self._run_session(master), "mesos-session")
        self._spawn(self.scheduler.run(), "scheduler-timers")

    async def _start_ha(self, master: str) -> None:
        """Join the election; the Mesos session and the scheduler's timers run only while leading."""
        assert self.ha is not None and self.scheduler is not None
        scheduler = self.scheduler

        def deposed() -> None:
            scheduler.attach(NotLeaderCaller())  # no Mesos call from here on, not even one in the queue
            log.warning("no longer the leader: Mesos calls and store writes stopped")

        async def halt() -> None:
            if self._session is not None:
                with contextlib.suppress(Exception):
                    await self._session.stop()
            await scheduler.on_disconnected("leadership suspended")

        await self.ha.join(self.api_url)
        self._spawn(self.ha.run(self._cluster.refresh, lambda: [self._run_session(master), scheduler.run()],
                                deposed, halt), "leadership")

    async def _run_session(self, master: str) -> None:
        """Keep a subscription; a framework Mesos removed (failover timeout passed) starts over afresh."""
        from kafka_mesos.mesos.errors import FrameworkRemoved
        from kafka_mesos.mesos.scheduler_session import SchedulerSession

        s = self.settings
        assert self.scheduler is not None
        while True:
            self._session = SchedulerSession(
                master=master, framework_info=self._framework_info(), handler=self.scheduler,
                content_type=codec.JSON if s.mesos_content_type == "json" else codec.PROTOBUF,
                principal=s.principal if s.secret else None, secret=s.secret,
            )
            self.scheduler.attach(self._session)
            try:
                await self._session.run()
                return
            except FrameworkRemoved as e:
                log.warning("Mesos removed framework %s (%s): subscribing as a new framework",
                            self._cluster.framework_id, e)
                await self.scheduler.on_framework_removed()

    def _framework_info(self) -> mesos_pb2.FrameworkInfo:
        s = self.settings
        info = mesos_pb2.FrameworkInfo(
            user=s.user or "", name=s.framework_name, role=s.framework_role,
            hostname=s.api_host, failover_timeout=s.framework_timeout, checkpoint=True,
            webui_url=self.api_url,
        )
        if s.principal:
            info.principal = s.principal
        framework_id = self._cluster.framework_id
        if framework_id:
            info.id.value = framework_id
        return info

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        task.add_done_callback(self._task_done)
        self._tasks.append(task)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.error("%s stopped: %s", task.get_name(), error)
            self.exit_code = 1
        else:
            log.info("%s finished", task.get_name())
        self._done.set()

    # ---- main loop and shutdown --------------------------------------------------------------------------

    def request_stop(self) -> None:
        self._done.set()

    async def wait(self) -> int:
        await self._done.wait()
        return self.exit_code

    async def stop(self) -> None:
        log.info("stopping (exit code %d)", self.exit_code)
        if self.scheduler is not None:
            await self.scheduler.stop()
        if self._session is not None:
            with contextlib.suppress(Exception):
                await self._session.stop()
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self.ha is not None:  # after the leader's work stopped: the next leader never overlaps with us
            log.debug("leaving the leader election")
            await self.ha.stop()
            log.debug("left the leader election")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._topics_zk is not None:
            with contextlib.suppress(Exception):
                await self._topics_zk.stop()
            self._topics_zk = None
        if self._local_mesos is not None:
            await self._local_mesos.stop()
            self._local_mesos = None
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                await self._cluster.close()
            self._cluster = None
        if self._files_dir is not None:
            shutil.rmtree(self._files_dir, ignore_errors=True)
            self._files_dir = None
