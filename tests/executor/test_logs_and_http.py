from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from kafka_mesos.executor.logs import answer_log_request, failure_excerpt, log_path, tail
from kafka_mesos.executor.task_dir import TaskDir
from kafka_mesos.mesos import stdhttp


def test_tail_reads_the_last_lines_of_big_files(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    path.write_text("".join(f"line {i}\n" for i in range(50000)))
    assert tail(path, 3) == "line 49997\nline 49998\nline 49999\n"
    assert tail(path, 1, max_bytes=4) == "999\n"  # capped in bytes, from the end
    assert tail(path, 0) == ""


def test_log_names_cannot_escape(tmp_path: Path) -> None:
    task = TaskDir(tmp_path / "kafka-1-a")
    assert log_path("server.log", tmp_path, task) == tmp_path / "kafka-1-a" / "logs" / "server.log"
    assert log_path("stdout", tmp_path, task) == tmp_path / "kafka-1-a" / "kafka.stdout"
    assert log_path("stderr", tmp_path, task) == tmp_path / "kafka-1-a" / "kafka.stderr"
    assert log_path("executor.stderr", tmp_path, task) == tmp_path / "stderr"
    assert log_path("executor.stdout", tmp_path, None) == tmp_path / "stdout"
    assert log_path("server.log", tmp_path, None) is None
    for bad in ("../x.log", "/etc/passwd", ".hidden.log", "a/b.log", "config"):
        assert log_path(bad, tmp_path, task) is None


def test_answer_log_request(tmp_path: Path) -> None:
    task = TaskDir(tmp_path / "kafka-1-a")
    task.create()
    tasks = {"kafka-1-a": task}
    task.stderr.write_text("a\nb\nc\n")
    answer = answer_log_request({"name": "stderr", "lines": 2, "request_id": 7}, tmp_path, tasks)
    assert answer == {"type": "log", "request_id": 7, "task_id": "kafka-1-a", "name": "stderr", "lines": 2,
                      "content": "b\nc\n"}
    assert "error" in answer_log_request({"name": "stdout"}, tmp_path, tasks)  # does not exist yet
    assert "error" in answer_log_request({"name": "stderr", "lines": "x"}, tmp_path, tasks)
    assert "error" in answer_log_request({"name": "stderr", "lines": 0}, tmp_path, tasks)
    assert "unknown log" in answer_log_request({"name": "../../etc/passwd"}, tmp_path, tasks)["error"]
    json.dumps(answer)


def test_log_requests_are_routed_by_task_id(tmp_path: Path) -> None:
    first, second = TaskDir(tmp_path / "kafka-1-a"), TaskDir(tmp_path / "kafka-2-b")
    for number, task in enumerate((first, second), 1):
        task.create()
        (task.logs / "server.log").write_text(f"broker {number}\n")
    tasks = {"kafka-1-a": first, "kafka-2-b": second}

    def ask(**request: object) -> dict[str, object]:
        return answer_log_request({"type": "log", "name": "server.log", "request_id": "r", **request},
                                  tmp_path, tasks)

    assert ask(task_id="kafka-1-a") | {"content": ""} == {
        "type": "log", "request_id": "r", "task_id": "kafka-1-a", "name": "server.log", "lines": 100,
        "content": ""}
    assert ask(task_id="kafka-1-a")["content"] == "broker 1\n"
    assert ask(task_id="kafka-2-b")["content"] == "broker 2\n"
    unknown = ask(task_id="kafka-3-c")
    assert unknown["task_id"] == "kafka-3-c" and "content" not in unknown
    assert "unknown task_id 'kafka-3-c'" in str(unknown["error"])
    assert "kafka-1-a, kafka-2-b" in str(unknown["error"])
    assert "unknown task_id" in str(ask(task_id=5)["error"])
    ambiguous = ask()
    assert "task_id is needed" in str(ambiguous["error"]) and "task_id" not in ambiguous
    # an older scheduler sends no task_id: fine while the executor has exactly one task
    only = answer_log_request({"name": "server.log"}, tmp_path, {"kafka-2-b": second})
    assert only["content"] == "broker 2\n" and only["task_id"] == "kafka-2-b"
    assert "no broker task" in str(answer_log_request({"name": "stdout"}, tmp_path, {})["error"])
    # the executor's own files need no task, whatever the number of tasks
    (tmp_path / "stderr").write_text("executor says hi\n")
    assert ask(name="executor.stderr")["content"] == "executor says hi\n"
    assert answer_log_request({"name": "executor.stderr"}, tmp_path, {})["content"] == "executor says hi\n"
    assert "unknown task_id" in str(ask(name="executor.stderr", task_id="nope")["error"])


def test_failure_excerpt_prefers_stderr(tmp_path: Path) -> None:
    task = TaskDir(tmp_path / "kafka-1-a")
    assert failure_excerpt(task) == "no output"
    task.create()
    (task.logs / "server.log").write_text("logged\n")
    assert failure_excerpt(task) == "last lines of server.log:\nlogged"
    task.stdout.write_text("out\n")
    assert "out" in failure_excerpt(task)
    task.stderr.write_text("boom\n")
    assert failure_excerpt(task) == "last lines of kafka.stderr:\nboom"
    (tmp_path / "kafka.stderr").write_text("not this task's\n")  # the sandbox's own files are not looked at
    assert failure_excerpt(task) == "last lines of kafka.stderr:\nboom"


async def serve_once(response: bytes) -> tuple[asyncio.Server, int, list[bytes]]:
    received: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.readuntil(b"\r\n\r\n"))
        for piece in (response[:7], response[7:23], response[23:]):  # split anywhere
            writer.write(piece)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], received


@pytest.mark.parametrize(
    "response",
    [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: a/b\r\n\r\n"
        b"5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world",
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello world",
    ],
)
async def test_http_client_reads_chunked_sized_and_unsized_bodies(response: bytes) -> None:
    server, port, received = await serve_once(response)
    async with server:
        answer = await stdhttp.request("127.0.0.1", port, "POST", "/api/v1/executor", {"X-A": "1"}, b"body")
    assert answer.status == 200 and answer.body == b"hello world"
    assert received[0].startswith(b"POST /api/v1/executor HTTP/1.1\r\n")
    assert b"Content-Length: 4\r\n" in received[0] and b"X-A: 1\r\n" in received[0]


async def test_http_client_reports_refused_connections_and_garbage() -> None:
    server, port, _ = await serve_once(b"garbage\r\n\r\n")
    async with server:
        with pytest.raises(stdhttp.HttpError, match="bad status line"):
            await stdhttp.request("127.0.0.1", port, "POST", "/", {})
    with pytest.raises(stdhttp.HttpError, match="cannot connect"):
        await stdhttp.request("127.0.0.1", port, "POST", "/", {})
