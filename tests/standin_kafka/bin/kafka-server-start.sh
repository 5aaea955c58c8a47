#!/bin/sh
# Stand-in for Kafka's bin/kafka-server-start.sh (tests only): same arguments and environment variables,
# but the "broker" is bin/standin_broker.py run by the Python interpreter baked in when the archive was built.
# As Kafka's scripts: KAFKA_LOG4J_OPTS defaults to the distribution's config/log4j.properties, LOG_DIR to the
# distribution's logs/ (created when missing), and -Dkafka.logs.dir=$LOG_DIR is put in front of
# KAFKA_LOG4J_OPTS (kafka-run-class.sh); the "JVM" (standin_broker.py) reads the -D options from there.
if [ $# -lt 1 ]; then
    echo "USAGE: $0 [-daemon] server.properties [--override property=value]*" >&2
    exit 1
fi
base_dir=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "$KAFKA_LOG4J_OPTS" ]; then
    KAFKA_LOG4J_OPTS="-Dlog4j.configuration=file:$base_dir/config/log4j.properties"
fi
if [ -z "$KAFKA_HEAP_OPTS" ]; then
    KAFKA_HEAP_OPTS="-Xmx1G -Xms1G"
fi
export KAFKA_HEAP_OPTS
if [ -z "$LOG_DIR" ]; then
    LOG_DIR="$base_dir/logs"
fi
mkdir -p "$LOG_DIR"
export LOG_DIR
KAFKA_LOG4J_OPTS="-Dkafka.logs.dir=$LOG_DIR $KAFKA_LOG4J_OPTS"
export KAFKA_LOG4J_OPTS
exec "@PYTHON@" "$base_dir/bin/standin_broker.py" "$@"
