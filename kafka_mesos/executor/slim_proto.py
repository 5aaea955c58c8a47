"""A slimmer ``mesos_pb2`` for the executor zipapp.

Pure-Python protobuf builds a class for every message of ``mesos.proto`` at import, which costs an executor
about 0.15 s of CPU on start. The executor needs a small part of it, so the zipapp carries a projection of
the same file (same name, package, message names and field numbers): messages the executor API cannot reach
are left out, and a few large messages keep only the fields the executor reads. Fields left out are not
lost on the protobuf wire: they are kept as unknown fields and re-encoded unchanged (the executor re-sends
unacknowledged tasks byte for byte). In JSON mode they are ignored when decoding, as Mesos' own JSON reader
does with unknown keys; the agent uses only the task ids of re-sent tasks.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2

# Message full name → fields to keep. Messages not listed keep every field.
KEPT_FIELDS: dict[str, frozenset[str]] = {
    "mesos.v1.ExecutorInfo": frozenset({"executor_id", "framework_id", "name", "type"}),
    "mesos.v1.FrameworkInfo": frozenset({"user", "name", "id", "hostname", "checkpoint", "role"}),
    "mesos.v1.AgentInfo": frozenset({"hostname", "id", "port"}),
    "mesos.v1.TaskInfo": frozenset({"name", "task_id", "agent_id", "data"}),
    "mesos.v1.TaskStatus": frozenset(
        {"task_id", "state", "data", "message", "agent_id", "timestamp", "executor_id", "healthy", "source",
         "reason", "uuid"}
    ),
}
ROOT_FILE = "mesos/v1/executor/executor.proto"


def _index(file: descriptor_pb2.FileDescriptorProto) -> dict[str, descriptor_pb2.DescriptorProto]:
    messages: dict[str, descriptor_pb2.DescriptorProto] = {}

    def visit(prefix: str, message: descriptor_pb2.DescriptorProto) -> None:
        name = f"{prefix}.{message.name}"
        messages[name] = message
        for nested in message.nested_type:
            visit(name, nested)

    for message in file.message_type:
        visit(f".{file.package}" if file.package else "", message)
    return messages


def _prune_fields(file: descriptor_pb2.FileDescriptorProto) -> None:
    for name, message in _index(file).items():
        kept = KEPT_FIELDS.get(name.lstrip("."))
        if kept is None:
            continue
        fields = [field for field in message.field if field.name in kept]
        del message.field[:]
        message.field.extend(fields)
        del message.oneof_decl[:]  # the kept fields of these messages are not in oneofs


def _reachable(roots: list[str], messages: dict[str, descriptor_pb2.DescriptorProto]) -> set[str]:
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in seen or name not in messages:
            continue
        seen.add(name)
        message = messages[name]
        pending += [field.type_name for field in message.field if field.type == field.TYPE_MESSAGE]
    return seen


def _drop_unreachable(
    container: descriptor_pb2.FileDescriptorProto | descriptor_pb2.DescriptorProto,
    prefix: str,
    keep: set[str],
) -> None:
    if isinstance(container, descriptor_pb2.FileDescriptorProto):
        nested = container.message_type
    else:
        nested = container.nested_type
    kept = [message for message in nested if f"{prefix}.{message.name}" in keep]
    del nested[:]
    nested.extend(kept)
    for message in nested:
        _drop_unreachable(message, f"{prefix}.{message.name}", keep)


def slim_mesos_file(mesos_file: bytes, executor_file: bytes) -> bytes:
    """The serialized ``mesos/v1/mesos.proto`` reduced to what ``executor.proto`` needs."""
    mesos = descriptor_pb2.FileDescriptorProto.FromString(mesos_file)
    executor = descriptor_pb2.FileDescriptorProto.FromString(executor_file)
    _prune_fields(mesos)
    roots = [
        field.type_name
        for message in _index(executor).values()
        for field in message.field
        if field.type == field.TYPE_MESSAGE and field.type_name.startswith(f".{mesos.package}.")
    ]
    keep = _reachable(roots, _index(mesos))
    _drop_unreachable(mesos, f".{mesos.package}", keep)
    return mesos.SerializeToString()


def slim_mesos_module(module_name: str) -> str:
    """Source of a ``mesos_pb2`` module holding the slim file (built from the installed generated modules)."""
    from kafka_mesos.mesos.pb import executor_pb2, mesos_pb2

    mesos_proto = descriptor_pb2.FileDescriptorProto()
    mesos_pb2.DESCRIPTOR.CopyToProto(mesos_proto)
    executor_proto = descriptor_pb2.FileDescriptorProto()
    executor_pb2.DESCRIPTOR.CopyToProto(executor_proto)
    data = slim_mesos_file(mesos_proto.SerializeToString(), executor_proto.SerializeToString())
    return (
        '"""mesos/v1/mesos.proto reduced to what the executor needs (kafka_mesos.executor.slim_proto)."""\n'
        "from google.protobuf import descriptor_pool as _descriptor_pool\n"
        "from google.protobuf.internal import builder as _builder\n\n"
        f"DESCRIPTOR = _descriptor_pool.Default().AddSerializedFile({data!r})\n"
        "_globals = globals()\n"
        "_builder.BuildMessageAndEnumDescriptors(DESCRIPTOR, _globals)\n"
        f"_builder.BuildTopDescriptorsAndMessages(DESCRIPTOR, {module_name!r}, _globals)\n"
    )
