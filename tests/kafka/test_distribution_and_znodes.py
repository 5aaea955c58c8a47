from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from kafka_mesos.kafka.distribution import (
    DistributionNotFound,
    find_distribution,
    find_extracted_distribution,
    read_distribution,
    version_from_name,
)
from kafka_mesos.kafka.znodes import (
    BrokerRegistration,
    RegistrationError,
    broker_path,
    parse_broker_registration,
    split_chroot,
)


def write_tgz(path: Path, top: str, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        directory = tarfile.TarInfo(top)
        directory.type = tarfile.DIRTYPE
        archive.addfile(directory)
        for name, data in files.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_version_from_name() -> None:
    assert version_from_name("kafka_2.13-3.7.0.tgz") == "3.7.0"
    assert version_from_name("kafka_2.10-0.9.0.1.tgz") == "0.9.0.1"
    assert version_from_name("kafka.tgz") == ""


def test_find_distribution_prefers_given_then_workdir(tmp_path: Path) -> None:
    with pytest.raises(DistributionNotFound, match="--kafka-dist"):
        find_distribution(None, tmp_path)
    found = write_tgz(tmp_path / "kafka_2.13-3.6.1.tgz", "kafka_2.13-3.6.1", {})
    assert find_distribution(None, tmp_path).name == found.name
    url = find_distribution("http://127.0.0.1:9/dl/kafka_2.13-3.7.0.tgz", tmp_path)
    assert url.is_url and url.name == "kafka_2.13-3.7.0.tgz"
    with pytest.raises(DistributionNotFound, match="not found"):
        find_distribution(str(tmp_path / "missing.tgz"), tmp_path)


def test_read_distribution_takes_version_from_the_kafka_jar(tmp_path: Path) -> None:
    path = write_tgz(
        tmp_path / "kafka-custom.tgz",
        "kafka_2.13-3.5.2",
        {"libs/kafka-clients-3.5.2.jar": b"", "libs/kafka_2.13-3.5.2.jar": b"jar", "bin/x": b""},
    )
    dist = read_distribution(path)
    assert (dist.version, dist.top_dir, dist.name) == ("3.5.2", "kafka_2.13-3.5.2", "kafka-custom.tgz")
    plain = write_tgz(tmp_path / "kafka_2.13-3.7.0.tgz", "kafka_2.13-3.7.0", {"bin/x": b""})
    assert read_distribution(plain).version == "3.7.0"


def test_find_extracted_distribution(tmp_path: Path) -> None:
    with pytest.raises(DistributionNotFound):
        find_extracted_distribution(tmp_path)
    (tmp_path / "kafka_nope").mkdir()
    script = tmp_path / "kafka_2.13-3.7.0" / "bin" / "kafka-server-start.sh"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    assert find_extracted_distribution(tmp_path).name == "kafka_2.13-3.7.0"
    assert find_extracted_distribution(tmp_path, "kafka_2.13-3.7.0").name == "kafka_2.13-3.7.0"


def test_broker_registration_json_round_trip_and_endpoint() -> None:
    raw = (
        b'{"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},'
        b'"endpoints":["PLAINTEXT://agent1:31000"],"jmx_port":-1,"port":31000,"host":"agent1",'
        b'"version":5,"timestamp":"1700000000000","extra":"ignored"}'
    )
    registration = parse_broker_registration(raw)
    assert registration.endpoint() == "agent1:31000"
    assert registration.timestamp_ms == 1700000000000
    assert parse_broker_registration(registration.to_json()) == registration
    no_plaintext = BrokerRegistration(host=None, port=-1, endpoints=("SSL://h:9093",))
    assert no_plaintext.endpoint() == "h:9093"
    with pytest.raises(RegistrationError):
        parse_broker_registration(b"[1]")
    with pytest.raises(RegistrationError):
        parse_broker_registration(b'{"port": "x"}')


def test_paths() -> None:
    assert broker_path(7) == "/brokers/ids/7"
    assert split_chroot("h1:1,h2:2/kafka/a/") == ("h1:1,h2:2", "/kafka/a")
    assert split_chroot("h1:1") == ("h1:1", "")
