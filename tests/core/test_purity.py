"""core is pure: only the standard library's data modules, no I/O, clocks or randomness."""

import ast
from pathlib import Path

import kafka_mesos.core

CORE = Path(kafka_mesos.core.__file__).parent
ALLOWED = {"__future__", "collections", "collections.abc", "dataclasses", "datetime", "decimal", "math", "re",
           "typing"}
FORBIDDEN_CALLS = {("time", "time"), ("time", "monotonic"), ("datetime", "now"), ("datetime", "utcnow"),
                   ("random", "random"), ("uuid", "uuid4"), ("os", "urandom")}


def test_core_imports_only_pure_modules() -> None:
    for source in sorted(CORE.glob("*.py")):
        tree = ast.parse(source.read_text(), str(source))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.startswith("kafka_mesos.core") or name in ALLOWED, f"{source.name} imports {name}"


def test_core_reads_no_clock() -> None:
    for source in sorted(CORE.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                call = (node.value.id, node.attr)
                assert call not in FORBIDDEN_CALLS, f"{source.name}: {'.'.join(call)}"
