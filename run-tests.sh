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
# Serial by default: tests on several workers share 127.0.0.1, and two local Mesos clusters offering the
# same default ports collide. KM_TEST_WORKERS=3 runs files on 3 xdist workers (faster, for local use).
workers=()
if [ "${KM_TEST_WORKERS:-1}" -gt 1 ]; then workers=(-n "$KM_TEST_WORKERS" --dist loadfile); fi
exec "$here/.venv/bin/python" -m pytest -q -p no:cacheprovider --durations=15 "${workers[@]}" "$@"
