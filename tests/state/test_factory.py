"""`open_store`: the --storage / --zk values accepted and the errors for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from kafka_mesos.state import FileStore, StorageConfigError, open_store
from kafka_mesos.state.zkpaths import parse_zk_connect


def test_file_storage_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("file:kafka-mesos.json")
    assert isinstance(store, FileStore)
    assert store.path == tmp_path / "kafka-mesos.json"
    assert store.description == f"file:{tmp_path / 'kafka-mesos.json'}"


def test_zk_storage_joins_chroot_and_path() -> None:
    from kafka_mesos.state.zkstore import ZkStore

    store = open_store("zk:/kafka-mesos", "127.0.0.1:2181,127.0.0.1:2182/kafka")
    assert isinstance(store, ZkStore)
    assert (store.hosts, store.root) == ("127.0.0.1:2181,127.0.0.1:2182", "/kafka/kafka-mesos")


@pytest.mark.parametrize(
    ("storage", "zk", "field", "message"),
    [
        ("kafka-mesos.json", None, "storage", "expected file:PATH"),
        ("s3:bucket", None, "storage", "expected file:PATH"),
        ("file:", None, "storage", "the path is missing"),
        ("file:dir/", None, "storage", "is a directory"),
        ("zk:kafka-mesos", "127.0.0.1:2181", "storage", "must start with '/'"),
        ("zk:/a//b", "127.0.0.1:2181", "storage", "invalid element ''"),
        ("zk:/", "127.0.0.1:2181", "storage", "cannot be the root"),
        ("zk:/kafka-mesos", None, "zk", "needs --zk"),
        ("zk:/kafka-mesos", "127.0.0.1", "zk", "'127.0.0.1' is not host:port"),
        ("zk:/kafka-mesos", "127.0.0.1:99999", "zk", "is not host:port"),
        ("zk:/kafka-mesos", "127.0.0.1:2181/../x", "zk", "invalid element '..'"),
    ],
)
def test_bad_values_name_the_option(storage: str, zk: str | None, field: str, message: str) -> None:
    with pytest.raises(StorageConfigError, match=message) as info:
        open_store(storage, zk)
    assert info.value.field == field


def test_zk_connect_forms() -> None:
    assert parse_zk_connect("127.0.0.1:2181") == ("127.0.0.1:2181", "")
    assert parse_zk_connect("zk://a:1,b:2/chroot/") == ("a:1,b:2", "/chroot")
    assert parse_zk_connect("[::1]:2181/x") == ("[::1]:2181", "/x")
