"""Shared fixtures: a real ZooKeeper, per-test chroots, and the leak checker every test runs under.

Leak checking (autouse): a test fails if it leaves behind
- child processes (descendants of pytest still running; zombies are ignored),
- pending asyncio tasks (checked on the test's loop just before pytest-asyncio closes it),
- open TCP/UDP sockets (file descriptors of this process; unix sockets are not counted).
Processes of session-scoped fixtures are excluded (`tests.support.leaks.SHARED_PIDS`). Tests that
legitimately share resources across tests opt out with `@pytest.mark.allow_leaks` (everything) or
`@pytest.mark.allow_leaks("sockets", "tasks", "processes")` (some kinds).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from kazoo.client import KazooClient

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `tests.support` importable however pytest was started
    sys.path.insert(0, str(ROOT))

from tests.support import leaks  # noqa: E402
from tests.support.zookeeper import (  # noqa: E402
    ZkChroot,
    ZooKeeperServer,
    delete_tree,
    kazoo_client,
    zookeeper_available,
)

LEAK_KINDS = frozenset({"processes", "tasks", "sockets"})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "allow_leaks(*kinds): skip the leak check for 'processes', 'tasks', 'sockets' (no argument: all); "
        "for tests that legitimately share resources across tests",
    )


def _allowed_leaks(node: pytest.Item | pytest.Collector) -> frozenset[str]:
    marker = node.get_closest_marker("allow_leaks")
    if marker is None:
        return frozenset()
    kinds = frozenset(marker.args) or LEAK_KINDS
    if unknown := kinds - LEAK_KINDS:
        raise pytest.UsageError(f"allow_leaks: unknown kind(s) {sorted(unknown)}; use {sorted(LEAK_KINDS)}")
    return kinds


@pytest.fixture(autouse=True)
def leak_check(request: pytest.FixtureRequest) -> Iterator[None]:
    """Set up before and torn down after every other function-scoped fixture of the test."""
    allowed = _allowed_leaks(request.node)
    baseline = leaks.take_baseline()
    yield
    problems: list[str] = []
    if "processes" not in allowed:
        for process in leaks.leaked_processes(baseline):
            problems.append(f"child process {process}")
            try:  # kill it so it does not spill into the next tests
                os.kill(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    if "sockets" not in allowed:
        problems.extend(f"open socket {sock}" for sock in leaks.leaked_sockets(baseline))
    if problems:
        pytest.fail("test left behind:\n  " + "\n  ".join(problems), pytrace=False)


def _check_loop_tasks(runner: asyncio.Runner, node: pytest.Item | pytest.Collector) -> None:
    tasks = leaks.pending_tasks(runner.get_loop())
    if tasks:
        names = "\n  ".join(leaks.describe_task(task) for task in tasks)
        pytest.fail(f"asyncio tasks still pending when the test's loop closed:\n  {names}", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, object, object]:
    """Hook pytest-asyncio's loop runners: check pending tasks after every async fixture's teardown
    (they register their own finalizers on the runner later, so run earlier) and before the loop closes."""
    result = yield
    if (
        fixturedef.argname.startswith("_")
        and fixturedef.argname.endswith("_scoped_runner")
        and isinstance(result, asyncio.Runner)
        and "tasks" not in _allowed_leaks(request.node)
    ):
        runner, node = result, request.node
        fixturedef.addfinalizer(lambda: _check_loop_tasks(runner, node))
    return result


# ---------------------------------------------------------------- ZooKeeper


def _require_zookeeper() -> None:
    if not zookeeper_available():
        pytest.fail(
            "Java and Debian's zookeeper package are required: apt-get install zookeeper default-jre-headless"
        )


@pytest.fixture(scope="session")
def zk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZooKeeperServer]:
    """One real ZooKeeper shared by the whole session (use `zk_chroot` to keep tests apart)."""
    _require_zookeeper()
    server = ZooKeeperServer(tmp_path_factory.mktemp("zookeeper-shared"))
    server.start()
    assert server.pid is not None
    leaks.SHARED_PIDS.add(server.pid)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def zk_server_fresh(tmp_path: Path) -> Iterator[ZooKeeperServer]:
    """A ZooKeeper of this test's own, free to be stopped and restarted (`restart()` keeps port and data)."""
    _require_zookeeper()
    server = ZooKeeperServer(tmp_path / "zookeeper")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def zk(zk_chroot: ZkChroot) -> Iterator[KazooClient]:
    """A kazoo client on the test's own chroot."""
    with kazoo_client(zk_chroot.connect_string) as client:
        yield client


@pytest.fixture
def zk_chroot(zk_server: ZooKeeperServer) -> Iterator[ZkChroot]:
    """A fresh chroot path (created, empty) on the shared server, deleted afterwards."""
    chroot = ZkChroot(zk_server, f"/test-{uuid.uuid4().hex[:12]}")
    with kazoo_client(zk_server.connect_string) as admin:
        admin.create(chroot.path)
    yield chroot
    with kazoo_client(zk_server.connect_string) as admin:
        delete_tree(admin, chroot.path)
