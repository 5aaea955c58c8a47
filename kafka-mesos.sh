#!/usr/bin/env bash
# Runs kafka-mesos with the project's own virtualenv, creating it on first use.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${KM_VENV:-$here/.venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import kafka_mesos, aiohttp, kazoo, click, google.protobuf' >/dev/null 2>&1; then
    echo "kafka-mesos: setting up $venv (first run)" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip >&2
    "$venv/bin/pip" install -q -e "$here" >&2
fi
exec "$venv/bin/python" -m kafka_mesos "$@"
