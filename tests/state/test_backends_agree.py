"""Property: the file and the ZooKeeper backends behave the same for any sequence of versioned batches
(the scheduler never knows which one it has), including ZooKeeper's chunked batch path."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kafka_mesos.state import ANY, BrokerWrite, ConflictError, FileStore
from kafka_mesos.state import zkstore as zkstore_module
from kafka_mesos.state.store import ExpectedVersion, Store
from kafka_mesos.state.zkstore import ZkStore
from tests.support.zookeeper import ZkChroot

pytestmark = pytest.mark.integration

expected_versions: st.SearchStrategy[ExpectedVersion] = st.one_of(
    st.none(), st.integers(min_value=0, max_value=3), st.just(ANY)
)


@st.composite
def batches(draw: st.DrawFn) -> list[BrokerWrite]:
    ids = draw(st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=4, unique=True))
    writes = []
    for broker_id in ids:
        delete = draw(st.booleans()) and draw(st.booleans())  # deletes are rarer than writes
        expected = draw(expected_versions)
        if delete and expected is None:
            expected = ANY
        data = None if delete else {"id": broker_id, "n": draw(st.integers(0, 9)), "pad": "p" * 40}
        writes.append(BrokerWrite(broker_id, data, expected))
    return writes


async def apply(store: Store, batch: list[BrokerWrite]) -> Any:
    try:
        return ("ok", await store.put_brokers(batch))
    except ConflictError:
        return ("conflict",)


async def run_both(chroot: ZkChroot, tmp: Path, sequence: list[list[BrokerWrite]]) -> None:
    file_store = FileStore(tmp / f"{uuid.uuid4().hex}.json")
    zk_store = ZkStore(chroot.connect_string, f"/agree-{uuid.uuid4().hex[:10]}")
    await file_store.open()
    await zk_store.open()
    try:
        for step, batch in enumerate(sequence):
            by_file = await apply(file_store, batch)
            by_zk = await apply(zk_store, batch)
            assert by_file == by_zk, f"step {step}: {batch}"
            event(f"outcome: {by_file[0]}")
            file_state = await file_store.load()
            zk_state = await zk_store.load()
            assert file_state.brokers == zk_state.brokers, f"step {step}"
    finally:
        await zk_store.close()
        await file_store.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=st.lists(batches(), min_size=1, max_size=6), chunked=st.booleans())
def test_file_and_zookeeper_backends_agree(
    zk_chroot: ZkChroot, tmp_path: Path, sequence: list[list[BrokerWrite]], chunked: bool
) -> None:
    saved = zkstore_module.MAX_TX_BYTES
    zkstore_module.MAX_TX_BYTES = 150 if chunked else saved  # about one broker per chunk
    try:
        asyncio.run(run_both(zk_chroot, tmp_path, sequence))
    finally:
        zkstore_module.MAX_TX_BYTES = saved
