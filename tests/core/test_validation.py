import pytest

from kafka_mesos.core.errors import ValidationError
from kafka_mesos.core.model import Broker, Task
from kafka_mesos.core.ranges import Range
from kafka_mesos.core.validation import apply_broker_params, cloned_brokers, new_brokers, updated_broker


def test_seed_add() -> None:
    brokers = new_brokers(range(1000, 1020), [], {"cpus": "0.01", "heap": "128", "mem": "256",
                                                  "options": "num.io.threads=1"})
    assert [b.id for b in brokers] == list(range(1000, 1020))
    expected = (0.01, 256, 128, {"num.io.threads": "1"})
    assert all((b.cpus, b.mem, b.heap, b.options) == expected for b in brokers)
    brokers[0].options["x"] = "y"
    assert "x" not in brokers[1].options


def test_all_params() -> None:
    broker = apply_broker_params(Broker(id=1), {
        "cpus": "2", "mem": "4096", "heap": "2048", "port": "31090..31100", "volume": "v1",
        "bindAddress": "if:eth0", "constraints": "hostname=unique,rack=groupBy:2",
        "options": "log.dirs=/mnt/broker$id", "log4jOptions": "log4j.rootLogger=DEBUG",
        "jvmOptions": "-Xss1m", "stickinessPeriod": "5m", "failoverDelay": "10s",
        "failoverMaxDelay": "2m", "failoverMaxTries": "3",
    })
    assert broker.port == Range(31090, 31100)
    assert broker.constraints == {"hostname": "unique", "rack": "groupBy:2"}
    assert (broker.failover.delay, broker.failover.max_delay, broker.failover.max_tries) == (10, 120, 3)
    assert broker.stickiness.period == 300
    assert broker.bind_address == "if:eth0" and broker.volume == "v1" and broker.jvm_options == "-Xss1m"


def test_empty_string_unsets_and_maps_replace() -> None:
    broker = apply_broker_params(Broker(id=1), {"port": "31092", "options": "a=1,b=2",
                                                "failoverMaxTries": "3", "volume": "v", "jvmOptions": "-X"})
    broker = apply_broker_params(broker, {"options": "c=3"})
    assert broker.options == {"c": "3"} and broker.port == Range(31092, 31092)
    broker = apply_broker_params(broker, {"port": "", "options": "", "failoverMaxTries": "", "volume": "",
                                          "jvmOptions": "", "failoverDelay": ""})
    assert (broker.port, broker.options, broker.failover.max_tries, broker.volume, broker.jvm_options) == (
        None, {}, None, None, None)
    assert broker.failover.delay == 60


def test_input_broker_not_mutated() -> None:
    original = Broker(id=1, options={"a": "1"})
    apply_broker_params(original, {"options": "b=2", "cpus": "3"})
    assert original.options == {"a": "1"} and original.cpus == 1.0


@pytest.mark.parametrize(("params", "field"), [
    ({"cpus": "-1"}, "cpus"), ({"cpus": "0"}, "cpus"), ({"cpus": "abc"}, "cpus"), ({"cpus": "nan"}, "cpus"),
    ({"cpus": ""}, "cpus"), ({"mem": "0"}, "mem"), ({"mem": "1.5"}, "mem"), ({"heap": "x"}, "heap"),
    ({"heap": "2048"}, "heap"), ({"mem": "512"}, "mem"), ({"heap": "300", "mem": "256"}, "heap"),
    ({"port": "abc"}, "port"), ({"port": "0"}, "port"), ({"port": "70000"}, "port"),
    ({"port": "5..1"}, "port"),
    ({"constraints": "hostname=bogus"}, "constraints"), ({"constraints": "hostname"}, "constraints"),
    ({"constraints": "rack=like:["}, "constraints"), ({"constraints": "rack=groupBy:0"}, "constraints"),
    ({"options": "a=1,,b"}, "options"), ({"options": "broker.id=5"}, "options"),
    ({"log4jOptions": "a=\\"}, "log4jOptions"),
    ({"stickinessPeriod": "10"}, "stickinessPeriod"), ({"failoverDelay": "1x"}, "failoverDelay"),
    ({"failoverDelay": "20m"}, "failoverDelay"), ({"failoverMaxDelay": "1s"}, "failoverMaxDelay"),
    ({"failoverMaxTries": "0"}, "failoverMaxTries"), ({"failoverMaxTries": "x"}, "failoverMaxTries"),
    ({"bindAddress": "x:y"}, "bindAddress"), ({"bindAddress": "a b"}, "bindAddress"),
    ({"nope": "1"}, "nope"), ({"syslog": "true"}, "syslog"),
])
def test_bad_params_name_the_field(params: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        apply_broker_params(Broker(id=0), params)
    assert info.value.field == field
    assert info.value.message


def test_field_names_rename() -> None:
    with pytest.raises(ValidationError) as info:
        apply_broker_params(Broker(id=0), {"failoverDelay": "x"},
                            field_names={"failoverDelay": "failover-delay"})
    assert info.value.field == "failover-delay"


def test_duplicate_ids_on_add() -> None:
    with pytest.raises(ValidationError, match=r"brokers 1\.\.2 already exist") as info:
        new_brokers([0, 1, 2], [1, 2, 5], {})
    assert info.value.field == "broker"


def test_update_of_running_broker_needs_restart() -> None:
    task = Task("t", "a", "e", "h")
    running = Broker(id=1, active=True, task=task)
    assert updated_broker(running, {"mem": "4096"}).needs_restart
    assert not updated_broker(running, {"mem": "2048"}).needs_restart
    assert not updated_broker(Broker(id=1), {"mem": "4096"}).needs_restart


def test_clone_copies_settings_not_state() -> None:
    source = Broker(id=0, cpus=0.5, options={"a": "1"}, active=True, task=Task("t", "a", "e", "h"))
    clones = cloned_brokers(source, [5, 6], [0])
    assert [c.id for c in clones] == [5, 6]
    assert clones[0].cpus == 0.5 and clones[0].options == {"a": "1"}
    assert clones[0].task is None and not clones[0].active
    with pytest.raises(ValidationError):
        cloned_brokers(source, [0], [0])
