"""File backend: versioned writes, atomic replace, crash safety (kill -9 mid-write), failed writes."""

from __future__ import annotations

import errno
import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kafka_mesos.state import ANY, BrokerWrite, ConflictError, FileStore, StoreCorrupt, StoreUnavailable
from kafka_mesos.state import filestore as filestore_module
from tests.support.ports import wait_until

ROOT = Path(__file__).resolve().parents[2]


def record(broker_id: int, **extra: object) -> dict[str, object]:
    return {"id": broker_id, **extra}


async def test_writes_are_versioned_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    store = FileStore(path)
    await store.open()
    assert (await store.load()).brokers == {}
    assert await store.put_brokers([BrokerWrite(1, record(1), None), BrokerWrite(2, record(2), None)]) == {
        1: 0,
        2: 0,
    }
    assert await store.put_brokers([BrokerWrite(1, record(1, cpus=2), 0), BrokerWrite(2, None, 0)]) == {
        1: 1,
        2: None,
    }
    await store.set_framework_id("framework-7")
    await store.close()

    reopened = FileStore(path)
    await reopened.open()
    snapshot = await reopened.load()
    await reopened.close()
    assert snapshot.framework_id == "framework-7"
    assert {i: (v.data, v.version) for i, v in snapshot.brokers.items()} == {1: ({"id": 1, "cpus": 2}, 1)}


async def test_version_conflicts_change_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    async with FileStore(path) as store:
        await store.put_brokers([BrokerWrite(1, record(1), None)])
        before = path.read_bytes()
        with pytest.raises(ConflictError, match="broker 1: expected no record, found version 0") as info:
            await store.put_brokers([BrokerWrite(5, record(5), None), BrokerWrite(1, record(1), None)])
        assert info.value.ids == (1,)
        with pytest.raises(ConflictError, match="expected version 3, found version 0"):
            await store.put_brokers([BrokerWrite(1, record(1, x=1), 3)])
        assert path.read_bytes() == before
        assert set((await store.load()).brokers) == {1}
        # ANY writes whatever is there, or creates
        assert await store.put_brokers([BrokerWrite(1, record(1, x=2), ANY), BrokerWrite(9, record(9))]) == {
            1: 1,
            9: 0,
        }


async def test_a_batch_naming_a_broker_twice_is_refused(tmp_path: Path) -> None:
    async with FileStore(tmp_path / "s.json") as store:
        with pytest.raises(ValueError, match="broker 3 appears twice"):
            await store.put_brokers([BrokerWrite(3, record(3)), BrokerWrite(3, None)])


async def test_second_scheduler_on_the_same_file_is_refused(tmp_path: Path) -> None:
    async with FileStore(tmp_path / "s.json"):
        with pytest.raises(
            StoreUnavailable, match=rf"in use by another kafka-mesos scheduler \(pid {os.getpid()}"
        ):
            await FileStore(tmp_path / "s.json").open()


async def test_failed_write_raises_and_leaves_file_and_memory_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.json"
    async with FileStore(path) as store:
        await store.put_brokers([BrokerWrite(1, record(1), None)])
        before = path.read_bytes()

        def disk_full(fd: int) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(filestore_module.os, "fsync", disk_full)
        with pytest.raises(StoreUnavailable, match=r"No space left on device.*nothing was changed"):
            await store.put_brokers([BrokerWrite(2, record(2), None)])
        monkeypatch.undo()
        assert path.read_bytes() == before
        assert set((await store.load()).brokers) == {1}
        assert [name for name in os.listdir(tmp_path) if ".tmp-" in name] == []
        # the store still works afterwards
        await store.put_brokers([BrokerWrite(2, record(2), None)])
        assert set(json.loads(path.read_bytes())["brokers"]) == {"1", "2"}


async def test_vanished_directory_is_reported(tmp_path: Path) -> None:
    directory = tmp_path / "gone"
    directory.mkdir()
    store = FileStore(directory / "state.json")
    await store.open()
    try:
        os.rename(directory, tmp_path / "elsewhere")
        with pytest.raises(StoreUnavailable, match=r"cannot write .*gone/state\.json"):
            await store.put_brokers([BrokerWrite(1, record(1), None)])
        assert await store.healthy() is False
        assert (await store.load()).brokers == {}
    finally:
        await store.close()


async def test_missing_directory_and_corrupt_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match=r"directory .*nowhere does not exist"):
        await FileStore(tmp_path / "nowhere" / "s.json").open()
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(StoreCorrupt, match="not valid JSON"):
        await FileStore(bad).open()
    bad.write_text('{"hello": 1}')
    with pytest.raises(StoreCorrupt, match="not a kafka-mesos state file"):
        await FileStore(bad).open()
    bad.write_text('{"format": "kafka-mesos-state", "schema": 99, "brokers": {}}')
    with pytest.raises(StoreCorrupt, match="schema 99; this program reads up to 1"):
        await FileStore(bad).open()


async def test_stale_temporary_files_are_removed_on_open(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    stale = tmp_path / "s.json.tmp-12345-0"
    stale.write_text("half a state")
    async with FileStore(path) as store:
        assert not stale.exists()
        assert (await store.load()).brokers == {}


WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from kafka_mesos.state import ANY, BrokerWrite, FileStore

    async def main(path: str, count: int) -> None:
        store = FileStore(path)
        await store.open()
        generation = 0
        while True:
            generation += 1
            data = {"gen": generation, "pad": "x" * 200}
            writes = [BrokerWrite(i, {"id": i, **data}, ANY) for i in range(count)]
            await store.put_brokers(writes)
            print(generation, flush=True)

    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
    """
)


@pytest.mark.integration
def test_kill_9_at_any_point_leaves_a_complete_earlier_or_later_state(tmp_path: Path) -> None:
    """A writer process replacing a ~500 KB state in a loop is killed with SIGKILL right after a write was
    acknowledged (so usually in the middle of the next one); the file is always one complete state, at
    least as new as the last acknowledged one."""
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    path = tmp_path / "state.json"
    count = 2000
    rng = random.Random(7)
    killed_mid_write = 0
    for iteration in range(12):
        writer = subprocess.Popen(
            [sys.executable, str(script), str(path), str(count)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            assert writer.stdout is not None
            acknowledged = 0
            target = rng.randint(1, 4)
            while acknowledged < target:
                line = writer.stdout.readline()
                assert line, "writer died on its own"
                acknowledged = int(line)
            if iteration % 2:  # kill while a temporary file exists: between its creation and the rename
                wait_until(
                    lambda: any(".tmp-" in e.name for e in os.scandir(tmp_path)), timeout=30, interval=0
                )
        finally:
            writer.kill()
            writer.wait()
            if writer.stdout is not None:
                # every generation printed before the kill was acknowledged (written and fsynced)
                acknowledged = max([acknowledged, *map(int, writer.stdout.read().split())])
                writer.stdout.close()
        if any(".tmp-" in p.name for p in tmp_path.iterdir()):
            killed_mid_write += 1
        document = json.loads(path.read_bytes())  # never torn
        generations = {entry["data"]["gen"] for entry in document["brokers"].values()}
        assert len(document["brokers"]) == count
        assert len(generations) == 1, "a mix of two states"
        (generation,) = generations
        assert acknowledged <= generation <= acknowledged + 1
    assert killed_mid_write > 0, "the kill never landed in the middle of a write"


FULL_DISK = textwrap.dedent(
    """
    import asyncio, resource, signal, sys
    from kafka_mesos.state import BrokerWrite, FileStore, StoreUnavailable

    async def main(path: str) -> None:
        async with FileStore(path) as store:
            await store.put_brokers([BrokerWrite(1, {"id": 1}, None)])
            # from now on no file may grow beyond 64 KB: the next write fails half way (EFBIG)
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (65536, resource.RLIM_INFINITY))
            try:
                big = [BrokerWrite(i, {"id": i, "pad": "x" * 500}, None) for i in range(2, 500)]
                await store.put_brokers(big)
            except StoreUnavailable as e:
                print("refused:", e)
            print("in memory:", sorted((await store.load()).brokers))

    asyncio.run(main(sys.argv[1]))
    """
)


def test_a_write_that_hits_the_file_size_limit_changes_nothing(tmp_path: Path) -> None:
    script = tmp_path / "full_disk.py"
    script.write_text(FULL_DISK)
    path = tmp_path / "state.json"
    result = subprocess.run(
        [sys.executable, str(script), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    assert "refused: cannot write" in result.stdout and "File too large" in result.stdout
    assert "(nothing was changed)" in result.stdout
    assert "in memory: [1]" in result.stdout
    assert set(json.loads(path.read_bytes())["brokers"]) == {"1"}
    assert [name for name in os.listdir(tmp_path) if ".tmp-" in name] == []
