#!/usr/bin/env bash
# The README's test command: installs what the tests need (ZooKeeper, Java, the virtualenv) when missing,
# then runs the whole suite. Extra arguments go to pytest.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! command -v java >/dev/null 2>&1 || [ ! -f /usr/share/zookeeper/bin/zkServer.sh ]; then
    if [ "$(id -u)" = 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq zookeeper default-jre-headless >/dev/null
    else
        echo "run-tests: the tests need Debian's zookeeper and a JRE: sudo apt-get install zookeeper default-jre-headless" >&2
        exit 1
    fi
fi
if [ ! -x "$here/.venv/bin/pytest" ] || ! "$here/.venv/bin/python" -c 'import kafka_mesos, hypothesis, pytest_asyncio, xdist' >/dev/null 2>&1; then
    python3 -m venv "$here/.venv"
    "$here/.venv/bin/pip" install -q --upgrade pip
    "$here/.venv/bin/pip" install -q -e "$here[test]"
fi
cd "$here"
# Most tests wait on real processes (ZooKeeper, Mesos, brokers), so a few workers overlap the waiting;
# --dist loadfile keeps each module (and its module-scoped cluster) on one worker.
exec "$here/.venv/bin/python" -m pytest -q -p no:cacheprovider --durations=15 \
    -n "${KM_TEST_WORKERS:-3}" --dist loadfile "$@"
