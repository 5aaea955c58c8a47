#!/usr/bin/env bash
# The README's test command: the whole suite, with the project's virtualenv.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ ! -x "$here/.venv/bin/pytest" ]; then
    python3 -m venv "$here/.venv"
    "$here/.venv/bin/pip" install -q --upgrade pip
    "$here/.venv/bin/pip" install -q -e "$here[test]"
fi
cd "$here"
exec "$here/.venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
