"""The shared fixtures themselves: real ZooKeeper control, session expiry, chroots, the leak checker."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from kazoo.client import KazooClient
from kazoo.protocol.states import KazooState

from tests.support import leaks
from tests.support.ports import free_port, port_is_open, wait_until, wait_until_async
from tests.support.zookeeper import ZkChroot, ZooKeeperServer, delete_tree, expire_session, four_letter_word


def _client(connect_string: str) -> KazooClient:
    client = KazooClient(hosts=connect_string, timeout=4.0)
    client.start(timeout=30.0)
    return client


def test_shared_server_answers_ruok_and_is_zookeeper_3_8(zk_server: ZooKeeperServer) -> None:
    assert four_letter_word(zk_server.port, "ruok") == "imok"
    assert "Zookeeper version: 3.8" in four_letter_word(zk_server.port, "srvr")
    assert zk_server.connect_string == f"127.0.0.1:{zk_server.port}"


def test_restart_keeps_port_and_data(zk_server_fresh: ZooKeeperServer) -> None:
    client = _client(zk_server_fresh.connect_string)
    try:
        client.create("/kept", b"value")
        port, pid = zk_server_fresh.port, zk_server_fresh.pid
        zk_server_fresh.stop()
        assert not port_is_open(port)
        wait_until(lambda: client.state != KazooState.CONNECTED, message="client notices the server is gone")
        zk_server_fresh.start()
        assert (zk_server_fresh.port, zk_server_fresh.pid != pid) == (port, True)
        assert client.retry(client.get, "/kept")[0] == b"value"
    finally:
        client.stop()
        client.close()


def test_expire_session_really_ends_the_session(zk_server: ZooKeeperServer, zk_chroot: ZkChroot) -> None:
    client = _client(zk_chroot.connect_string)
    states: list[KazooState] = []
    client.add_listener(states.append)
    try:
        client.create("/ephemeral", ephemeral=True)
        old_session = client.client_id[0]
        expire_session(client, zk_server)
        assert KazooState.LOST in states
        wait_until(lambda: client.connected, message="kazoo opens a new session")
        assert client.client_id[0] != old_session
        assert client.exists("/ephemeral") is None  # the server dropped the old session's ephemerals
    finally:
        client.stop()
        client.close()


def test_chroot_is_unique_and_isolated(zk_server: ZooKeeperServer, zk_chroot: ZkChroot) -> None:
    inside = _client(zk_chroot.connect_string)
    root = _client(zk_server.connect_string)
    try:
        inside.create("/node", b"x")
        assert root.get(f"{zk_chroot.path}/node")[0] == b"x"
        assert zk_chroot.path.startswith("/test-")
    finally:
        for client in (inside, root):
            client.stop()
            client.close()


def test_wait_until_returns_value_and_times_out() -> None:
    calls = iter([0, 0, 7])
    assert wait_until(lambda: next(calls), timeout=5) == 7
    with pytest.raises(TimeoutError, match="never"):
        wait_until(lambda: False, timeout=0.05, message="never")


async def test_wait_until_async_accepts_async_predicates() -> None:
    event = asyncio.Event()

    async def is_set() -> bool:
        return event.is_set()

    asyncio.get_running_loop().call_soon(event.set)
    assert await wait_until_async(is_set, timeout=5) is True
    with pytest.raises(TimeoutError):
        await wait_until_async(lambda: None, timeout=0.05)


def test_free_port_is_bindable_on_loopback() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_leak_probes_see_a_listening_socket_a_process_and_a_task() -> None:
    baseline = leaks.take_baseline()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    found = leaks.leaked_sockets(baseline, grace=0)
    assert [(s.state, s.local) for s in found] == [("LISTEN", f"127.0.0.1:{server.getsockname()[1]}")]
    server.close()
    assert leaks.leaked_sockets(baseline, grace=0) == []

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert [p.pid for p in leaks.leaked_processes(baseline, grace=0)] == [child.pid]
    finally:
        child.kill()
        child.wait()
    assert leaks.leaked_processes(baseline, grace=0) == []

    loop = asyncio.new_event_loop()
    try:
        task = loop.create_task(asyncio.sleep(3600), name="forever")
        assert leaks.pending_tasks(loop, grace=0.05) == [task]
        task.cancel()
        assert leaks.pending_tasks(loop, grace=1) == []
    finally:
        loop.close()


LEAKY_TESTS = """
import asyncio, socket, subprocess, sys
import pytest

_kept = []

def test_leaks_a_server():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    _kept.append(server)

def test_leaks_a_process():
    _kept.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]))

async def test_leaks_a_task():
    _kept.append(asyncio.get_running_loop().create_task(asyncio.sleep(3600)))

@pytest.mark.allow_leaks("sockets")
def test_opted_out():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    _kept.append(server)

async def test_clean():
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    server.close()
    await server.wait_closed()
    task = asyncio.get_running_loop().create_task(asyncio.sleep(3600))
    task.cancel()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
"""


def test_leak_checker_fails_leaking_tests_only(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    (tmp_path / "conftest.py").write_text(
        f"import sys\nsys.path.insert(0, {str(root)!r})\nfrom tests.conftest import *\n"
    )
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    (tmp_path / "test_leaky.py").write_text(textwrap.dedent(LEAKY_TESTS))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rE", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert "5 passed, 3 errors" in output, output
    assert "open socket tcp 127.0.0.1:" in output and "LISTEN" in output
    assert "child process pid" in output
    assert "asyncio tasks still pending" in output
    assert "ERROR at teardown of test_opted_out" not in output
    assert "ERROR at teardown of test_clean" not in output


def test_delete_tree_removes_nested_znodes(zk_server: ZooKeeperServer, zk_chroot: ZkChroot) -> None:
    client = _client(zk_server.connect_string)
    try:
        base = f"{zk_chroot.path}/tree"
        for path in ("a/b/c", "a/d", "e"):
            client.ensure_path(f"{base}/{path}")
        for i in range(30):
            client.create(f"{base}/a/b/leaf{i}")
        delete_tree(client, base, ops_per_transaction=7)
        assert client.exists(base) is None
        assert client.get_children(zk_chroot.path) == []
    finally:
        client.stop()
        client.close()
