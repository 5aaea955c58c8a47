#!/bin/sh
# Stand-in for Kafka's bin/kafka-server-start.sh (tests only): same arguments and environment variables,
# but the "broker" is bin/standin_broker.py run by the Python interpreter baked in when the archive was built.
if [ $# -lt 1 ]; then
    echo "USAGE: $0 [-daemon] server.properties [--override property=value]*" >&2
    exit 1
fi
base_dir=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "$KAFKA_HEAP_OPTS" ]; then
    KAFKA_HEAP_OPTS="-Xmx1G -Xms1G"
fi
export KAFKA_HEAP_OPTS
if [ -z "$LOG_DIR" ]; then
    LOG_DIR="$base_dir/logs"
fi
export LOG_DIR
exec "@PYTHON@" "$base_dir/bin/standin_broker.py" "$@"
