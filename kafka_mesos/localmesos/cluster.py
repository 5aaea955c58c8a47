"""`LocalMesos`: one master and N agents in this process, each on its own loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

import aiohttp
from aiohttp import web

from kafka_mesos.localmesos.agent import LocalAgent
from kafka_mesos.localmesos.config import LocalMesosConfig
from kafka_mesos.localmesos.master import Master
from kafka_mesos.localmesos.resources import Resources, parse_attributes
from kafka_mesos.localmesos.scheduler_api import build_app
from kafka_mesos.localmesos.zk_registration import ZkRegistration

log = logging.getLogger(__name__)


class LocalMesos:
    """Start with `await start()` (or `async with`), stop with `await stop()`."""

    def __init__(self, config: LocalMesosConfig | None = None) -> None:
        self.config = config or LocalMesosConfig()
        self.master = Master(self.config)
        self.agents: list[LocalAgent] = []
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._allocation_task: asyncio.Task[None] | None = None
        self._zk: ZkRegistration | None = None
        self._stopped: set[str] = set()
        self._own_work_dir = self.config.work_dir is None
        self.work_dir = Path(self.config.work_dir or tempfile.mkdtemp(prefix="local-mesos-"))

    @property
    def master_url(self) -> str:
        return f"http://{self.config.hostname}:{self.master.port}"

    async def __aenter__(self) -> LocalMesos:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._session = aiohttp.ClientSession()
        await self._serve_master(self.config.port)
        for index in range(self.config.agents):
            await self.add_agent(index)
        await self._start_background()

    async def _serve_master(self, port: int) -> None:
        self._runner = web.AppRunner(build_app(self.master), handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.ip, port)
        await site.start()
        self.master.port = int(self._runner.addresses[0][1])

    async def _start_background(self) -> None:
        self._allocation_task = asyncio.create_task(self._allocation_loop(), name="local-mesos-allocator")
        if self.config.zk:
            self._zk = ZkRegistration(self.config.zk, self.master.master_info())
            await self._zk.start()

    async def _stop_background(self) -> None:
        if self._zk is not None:
            await self._zk.stop()
            self._zk = None
        if self._allocation_task is not None:
            self._allocation_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._allocation_task
            self._allocation_task = None

    async def restart_master(self) -> None:
        """Master failover: a new master (new id, empty memory) on the same port. Subscription
        streams end; agents re-register with their executors and tasks, whose frameworks stay
        "recovered" (no failover timer) until they re-subscribe with their id."""
        await self._stop_background()
        old = self.master
        old.close()
        if self._runner is not None:
            await self._runner.cleanup()
        self.master = Master(self.config)
        for agent in self.agents:
            if agent.id not in self._stopped:
                agent.master = self.master
                self.master.recover_agent(agent)
        await self._serve_master(old.port)
        await self._start_background()

    async def add_agent(self, index: int | None = None) -> LocalAgent:
        index = len(self.agents) if index is None else index
        agent = LocalAgent(
            agent_id=self.master.next_agent_id(),
            index=index,
            config=self.config,
            work_dir=self.work_dir,
            resources=Resources.parse(self.config.resources_for(index)),
            attributes=parse_attributes(self.config.attributes_for(index)),
            master=self.master,
        )
        assert self._session is not None
        await agent.start(self._session)
        self.agents.append(agent)
        self.master.add_agent(agent)
        return agent

    async def stop_agent(self, index: int) -> None:
        """The agent dies: its executors are killed, the master removes it."""
        agent = self.agents[index]
        self._stopped.add(agent.id)
        self.master.remove_agent(agent.id)
        await agent.stop()

    async def restart_agent(self, index: int) -> None:
        """The agent process restarts on the same port and recovers (see `LocalAgent.restart`)."""
        agent = self.agents[index]
        lost = await agent.restart()
        self.master.agent_restarted(agent.id, lost)

    async def stop(self) -> None:
        await self._stop_background()
        self.master.close()
        for agent in self.agents:
            await agent.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._own_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    async def _allocation_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.allocation_interval)
            try:
                self.master.allocate()
            except Exception:  # keep allocating; a bug here must not stop the cluster
                log.exception("allocation failed")
