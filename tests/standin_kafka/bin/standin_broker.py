"""A small, honest stand-in for a Kafka broker (tests only).

Reads server.properties like Kafka, refuses to start without broker.id, zookeeper.connect, log.dirs and
listeners (or port), listens on the configured port, registers /brokers/ids/<broker.id> under the chroot as
an EPHEMERAL node with Kafka's own JSON (refusing when the id is already registered), logs as log4j does with
the configuration KAFKA_LOG4J_OPTS names (Kafka's default one: $LOG_DIR/server.log and stdout), including
the heap given in KAFKA_HEAP_OPTS, and on SIGTERM deregisters and exits 0.
It never listens beyond loopback: an empty listener host binds 127.0.0.1.

Controller: the stand-in that wins /controller (ephemeral, Kafka's JSON) acts as Kafka's controller does in
ZooKeeper mode: it creates missing partition state znodes (leader = first live replica, ISR = live replicas),
deletes topics marked in /admin/delete_topics, and applies /admin/reassign_partitions one partition at a
time, every `standin.reassign.partition.ms` (property, or env STANDIN_REASSIGN_PARTITION_MS; default 100)
milliseconds: it rewrites /brokers/topics/<t> and the partition state, rewrites the znode with what is still
pending and deletes it when nothing is left. A partition whose new replicas are not all registered waits
(as with Kafka).
"""

import json
import os
import re
import signal
import socket
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError

REQUIRED = ("broker.id", "zookeeper.connect", "log.dirs")
STARTUP_PATHS = ("/brokers/ids", "/brokers/topics", "/brokers/seqid", "/config/topics", "/config/changes",
                 "/admin/delete_topics", "/isr_change_notification")


LEVELS = {"ALL": 0, "TRACE": 1, "DEBUG": 2, "INFO": 3, "WARN": 4, "ERROR": 5, "FATAL": 6, "OFF": 7}


class Log:
    """log4j 1.x as Kafka configures it: -D options from KAFKA_LOG4J_OPTS (kafka.logs.dir,
    log4j.configuration=file:...), the root logger's level and appenders; a *FileAppender writes to its File
    (${name} replaced by system properties, unknown ones by nothing), a ConsoleAppender to stdout."""

    def __init__(self, log4j_opts):
        system = dict(re.findall(r"-D([^=\s]+)=(\S*)", log4j_opts))
        self.threshold = LEVELS["DEBUG"]
        self.handles = []
        self.console = False
        config = system.get("log4j.configuration", "")
        if not config.startswith("file:"):
            print("log4j:WARN No appenders could be found for logger (kafka.Kafka$).", file=sys.stderr,
                  flush=True)
            return
        try:
            conf = read_properties(config[len("file:"):])
        except OSError as exc:
            print(f"log4j:ERROR Could not read configuration file from URL [{config}]. {exc}",
                  file=sys.stderr, flush=True)
            return
        root = [part.strip() for part in conf.get("log4j.rootLogger", "").split(",")]
        self.threshold = LEVELS.get(root[0].upper(), LEVELS["DEBUG"])
        for name in filter(None, root[1:]):
            kind = conf.get(f"log4j.appender.{name}", "")
            if kind.endswith("ConsoleAppender"):
                self.console = True
            elif kind.endswith("FileAppender"):
                file_name = re.sub(r"\$\{([^}]*)\}", lambda m: system.get(m.group(1), ""),
                                   conf.get(f"log4j.appender.{name}.File", ""))
                if file_name:
                    os.makedirs(os.path.dirname(file_name) or ".", exist_ok=True)
                    self.handles.append(open(file_name, "a", buffering=1))

    def __call__(self, level, message):
        if LEVELS[level] < self.threshold:
            return
        line = f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {level} {message} (kafka.server.KafkaServer)"
        for handle in self.handles:
            handle.write(line + "\n")
        if self.console:
            print(line, flush=True)


def read_properties(path):
    props = {}
    with open(path, encoding="utf-8") as handle:
        pending = ""
        for raw in handle:
            line = pending + raw.strip()
            if not pending and (not line or line[0] in "#!"):
                continue
            if line.endswith("\\") and not line.endswith("\\\\"):
                pending = line[:-1]
                continue
            pending = ""
            match = re.match(r"((?:\\.|[^=:\s\\])+)\s*[=:\s]\s*(.*)$", line)
            if match:
                props[match.group(1).replace("\\", "")] = match.group(2)
            else:
                props[line] = ""
    return props


def listener(props):
    if "listeners" in props:
        first = props["listeners"].split(",")[0].strip()
        name, _, address = first.partition("://")
        host, _, port = address.rpartition(":")
        return name, host, int(port)
    return "PLAINTEXT", props.get("host.name", ""), int(props["port"])


def heap_mb(heap_opts):
    match = re.search(r"-Xmx(\d+)([kKmMgG]?)", heap_opts)
    if not match:
        return None
    scale = {"k": 1 / 1024, "m": 1, "g": 1024, "": 1 / (1024 * 1024)}[match.group(2).lower()]
    return int(int(match.group(1)) * scale)


def fail(log, message):
    log("ERROR", message)
    print("ERROR " + message, file=sys.stderr, flush=True)
    sys.exit(1)


def main(argv):
    log = Log(os.environ.get("KAFKA_LOG4J_OPTS", ""))
    args = [arg for arg in argv if arg != "-daemon"]
    props = read_properties(args[0])
    for override in args[1:]:
        if "=" in override and override != "--override":
            key, _, value = override.partition("=")
            props[key] = value
    heap_opts = os.environ.get("KAFKA_HEAP_OPTS", "")
    log("INFO", f"KAFKA_HEAP_OPTS={heap_opts} heap={heap_mb(heap_opts)}MB")
    log("INFO", "KafkaConfig values: " + ", ".join(f"{k} = {v}" for k, v in sorted(props.items())))
    missing = [key for key in REQUIRED if not props.get(key, "").strip()]
    if "listeners" not in props and "port" not in props:
        missing.append("listeners")
    if missing:
        names = ", ".join(missing)
        fail(log, f"Fatal error during KafkaServer startup: missing required configuration {names}")
    broker_id = int(props["broker.id"])
    for log_dir in props["log.dirs"].split(","):
        os.makedirs(log_dir.strip(), exist_ok=True)
    name, host, port = listener(props)
    try:
        server = socket.create_server((host or "127.0.0.1", port))
    except OSError as exc:
        fail(log, f"Fatal error during KafkaServer startup: cannot bind {host}:{port}: {exc}")
    threading.Thread(target=serve, args=(server,), daemon=True).start()

    connect = props["zookeeper.connect"]
    hosts, _, chroot = connect.partition("/")
    if chroot:
        root = KazooClient(hosts=hosts, timeout=10.0)
        root.start(timeout=30)
        root.ensure_path("/" + chroot)
        root.stop()
        root.close()
    timeout_ms = int(props.get("zookeeper.session.timeout.ms", "18000"))
    zk = KazooClient(hosts=connect, timeout=timeout_ms / 1000.0)
    zk.start(timeout=30)
    for path in STARTUP_PATHS:
        zk.ensure_path(path)
    advertised = props.get("advertised.listeners") or f"{name}://{host or socket.gethostname()}:{port}"
    first = advertised.split(",")[0].strip()
    adv_host, _, adv_port = first.partition("://")[2].rpartition(":")
    registration = {
        "features": {},
        "listener_security_protocol_map": {name: "PLAINTEXT"},
        "endpoints": [e.strip() for e in advertised.split(",")],
        "jmx_port": -1,
        "port": int(adv_port),
        "host": adv_host,
        "version": 5,
        "timestamp": str(int(time.time() * 1000)),
    }
    if props.get("broker.rack", "").strip():
        registration["rack"] = props["broker.rack"].strip()
    stop = threading.Event()
    if os.environ.get("STANDIN_IGNORE_SIGTERM"):  # a broker that hangs on shutdown
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    path = f"/brokers/ids/{broker_id}"
    gate = os.environ.get("STANDIN_REGISTER_GATE")
    if gate:  # tests hold the registration back to see that nobody reports RUNNING before it
        log("INFO", f"waiting for {gate} before registering")
        while not os.path.exists(gate) and not stop.wait(0.05):
            pass
    try:
        zk.create(path, json.dumps(registration).encode(), ephemeral=True)
    except NodeExistsError:
        zk.stop()
        zk.close()
        fail(log, f"Error while creating ephemeral at {path}, node already exists and owner does not match "
                  f"(A broker is already registered on the path {path})")
    log("INFO", f"[KafkaServer id={broker_id}] started (registered {path} as {first})")
    pace_ms = float(os.environ.get("STANDIN_REASSIGN_PARTITION_MS")
                    or props.get("standin.reassign.partition.ms") or "100")
    controller = Controller(zk, broker_id, pace_ms / 1000.0, log, stop)
    threading.Thread(target=controller.run, daemon=True).start()
    while not stop.wait(0.5):
        if os.environ.get("STANDIN_CRASH_FILE") and os.path.exists(os.environ["STANDIN_CRASH_FILE"]):
            print("FATAL standin crash requested", file=sys.stderr, flush=True)
            log("ERROR", f"[KafkaServer id={broker_id}] fatal error, exiting")
            os._exit(3)
    log("INFO", f"[KafkaServer id={broker_id}] shutting down")
    try:
        zk.delete_async(path).get(timeout=10)  # bounded: a broker must not hang when ZooKeeper is gone
    except Exception as exc:
        log("WARN", f"[KafkaServer id={broker_id}] could not deregister {path}: {exc!r}")
    finally:
        zk.stop()
        zk.close()
        server.close()
    log("INFO", f"[KafkaServer id={broker_id}] shut down completed")
    return 0


class Controller:
    """Kafka's controller duties that the scheduler can observe (ZooKeeper mode)."""

    def __init__(self, zk, broker_id, pace, log, stop):
        self.zk, self.broker_id, self.pace, self.log, self.stop = zk, broker_id, pace, log, stop
        self.active = False
        self.epoch = 0

    def run(self):
        next_move = 0.0
        while not self.stop.wait(min(self.pace, 0.1) if self.active else 1.0):
            try:
                if not self.active:
                    self.elect()
                    continue
                if self.zk.exists("/controller") is None:
                    self.active = False
                    continue
                self.create_missing_states()
                self.delete_marked_topics()
                if time.monotonic() >= next_move and self.move_one():
                    next_move = time.monotonic() + self.pace
            except Exception as exc:  # a broker keeps running when a controller step fails
                self.log("WARN", f"[Controller id={self.broker_id}] {exc!r}")

    def elect(self):
        data = {"version": 1, "brokerid": self.broker_id, "timestamp": str(int(time.time() * 1000))}
        try:
            self.zk.create("/controller", json.dumps(data, separators=(",", ":")).encode(), ephemeral=True)
        except NodeExistsError:
            return
        try:
            raw, stat = self.zk.get("/controller_epoch")
            self.epoch = int(raw.decode() or "0") + 1
            self.zk.set("/controller_epoch", str(self.epoch).encode(), version=stat.version)
        except NoNodeError:
            self.epoch = 1
            self.zk.create("/controller_epoch", b"1")
        self.active = True
        self.log("INFO", f"[Controller id={self.broker_id}] elected, epoch {self.epoch}")

    def live(self):
        return {int(i) for i in self.zk.get_children("/brokers/ids") if i.isdigit()}

    def state_json(self, leader, isr, leader_epoch):
        return json.dumps({"version": 1, "leader": leader, "leader_epoch": leader_epoch, "isr": isr,
                           "controller_epoch": self.epoch}, separators=(",", ":")).encode()

    def write_state(self, topic, partition, replicas, live):
        in_sync = [b for b in replicas if b in live]
        leader = in_sync[0] if in_sync else -1
        path = f"/brokers/topics/{topic}/partitions/{partition}/state"
        try:
            raw, stat = self.zk.get(path)
            epoch = json.loads(raw).get("leader_epoch", 0) + 1
            self.zk.set(path, self.state_json(leader, in_sync, epoch), version=stat.version)
        except NoNodeError:
            self.zk.ensure_path(f"/brokers/topics/{topic}/partitions/{partition}")
            self.zk.create(path, self.state_json(leader, in_sync, 0))

    def create_missing_states(self):
        live = None
        for topic in self.zk.get_children("/brokers/topics"):
            try:
                raw, _ = self.zk.get(f"/brokers/topics/{topic}")
            except NoNodeError:
                continue
            partitions = json.loads(raw).get("partitions") or {}
            for partition, replicas in partitions.items():
                if self.zk.exists(f"/brokers/topics/{topic}/partitions/{partition}/state") is None:
                    live = self.live() if live is None else live
                    self.write_state(topic, partition, replicas, live)

    def delete_marked_topics(self):
        """As Kafka's controller with delete.topic.enable=true: partitions, topic node, config, marker."""
        for topic in self.zk.get_children("/admin/delete_topics"):
            if self.zk.exists(f"/brokers/topics/{topic}"):
                self.zk.delete(f"/brokers/topics/{topic}", recursive=True)
            if self.zk.exists(f"/config/topics/{topic}"):
                self.zk.delete(f"/config/topics/{topic}")
            self.zk.delete(f"/admin/delete_topics/{topic}")
            self.log("INFO", f"[Controller id={self.broker_id}] deleted topic {topic}")

    def move_one(self):
        """Apply the first pending partition whose new replicas are all live; True when one moved."""
        try:
            raw, stat = self.zk.get("/admin/reassign_partitions")
        except NoNodeError:
            return False
        pending = json.loads(raw).get("partitions") or []
        live = self.live()
        for index, entry in enumerate(pending):
            if not all(b in live for b in entry["replicas"]):
                continue
            topic, partition = entry["topic"], str(entry["partition"])
            topic_path = f"/brokers/topics/{topic}"
            data, topic_stat = self.zk.get(topic_path)
            assignment = json.loads(data)
            assignment.setdefault("partitions", {})[partition] = entry["replicas"]
            self.zk.set(topic_path, json.dumps(assignment, separators=(",", ":")).encode(),
                        version=topic_stat.version)
            self.write_state(topic, partition, entry["replicas"], live)
            rest = pending[:index] + pending[index + 1:]
            try:
                if rest:
                    body = {"version": 1, "partitions": rest}
                    self.zk.set("/admin/reassign_partitions",
                                json.dumps(body, separators=(",", ":")).encode(), version=stat.version)
                else:
                    self.zk.delete("/admin/reassign_partitions", version=stat.version)
                    self.log("INFO", f"[Controller id={self.broker_id}] reassignment completed")
            except BadVersionError:
                pass  # rewritten meanwhile: read again next round
            return True
        return False


def serve(server):
    while True:
        try:
            connection, _ = server.accept()
        except OSError:
            return
        connection.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
