"""The fetcher cache (`URI.cache`): one download per agent and user, a copy (and extraction) per sandbox."""

import asyncio
import io
import tarfile
from pathlib import Path

import aiohttp
from aiohttp import web

from kafka_mesos.localmesos.fetcher import FetcherCache, FetchError, fetch_all
from kafka_mesos.mesos.pb import mesos_pb2 as mpb


def _tgz() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = b"broker"
        entry = tarfile.TarInfo("dist/bin/kafka")
        entry.size = len(data)
        tar.addfile(entry, io.BytesIO(data))
    return buffer.getvalue()


async def _serve(files: dict[str, bytes], hits: dict[str, int]) -> tuple[web.AppRunner, str]:
    async def handle(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        hits[name] = hits.get(name, 0) + 1
        if name not in files:
            return web.Response(status=404)
        return web.Response(body=files[name])

    app = web.Application()
    app.router.add_get("/files/{name}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/files"


async def test_cached_uri_is_downloaded_once_and_extracted_into_every_sandbox(tmp_path: Path) -> None:
    hits: dict[str, int] = {}
    runner, base = await _serve({"dist.tgz": _tgz(), "executor.pyz": b"zipapp"}, hits)
    cache = FetcherCache(tmp_path / "cache")
    try:
        uris = [mpb.CommandInfo.URI(value=f"{base}/executor.pyz", cache=True),
                mpb.CommandInfo.URI(value=f"{base}/dist.tgz", cache=True, extract=True)]
        sandboxes = [tmp_path / f"sandbox-{i}" for i in range(5)]
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(fetch_all(uris, box, session, cache, "kafka") for box in sandboxes))
            await fetch_all(uris, tmp_path / "sandbox-late", session, cache, "kafka")
            await fetch_all(uris, tmp_path / "sandbox-other-user", session, cache, "root")
        assert hits == {"executor.pyz": 2, "dist.tgz": 2}  # once for "kafka", once for "root"
        for sandbox in [*sandboxes, tmp_path / "sandbox-late"]:
            assert (sandbox / "executor.pyz").read_bytes() == b"zipapp"
            assert (sandbox / "dist.tgz").exists()
            assert (sandbox / "dist" / "bin" / "kafka").read_bytes() == b"broker"
    finally:
        cache.close()
        await runner.cleanup()


async def test_uncached_uri_is_downloaded_every_time_and_failures_are_not_kept(tmp_path: Path) -> None:
    hits: dict[str, int] = {}
    files = {"executor.pyz": b"zipapp"}
    runner, base = await _serve(files, hits)
    cache = FetcherCache(tmp_path / "cache")
    try:
        async with aiohttp.ClientSession() as session:
            plain = [mpb.CommandInfo.URI(value=f"{base}/executor.pyz")]
            for i in range(2):
                await fetch_all(plain, tmp_path / f"plain-{i}", session, cache)
            assert hits == {"executor.pyz": 2}
            missing = [mpb.CommandInfo.URI(value=f"{base}/late.bin", cache=True)]
            try:
                await fetch_all(missing, tmp_path / "first", session, cache)
            except FetchError as exc:
                assert "HTTP 404" in str(exc)
            else:
                raise AssertionError("a 404 must fail the fetch")
            files["late.bin"] = b"now here"
            await fetch_all(missing, tmp_path / "second", session, cache)
            assert (tmp_path / "second" / "late.bin").read_bytes() == b"now here"
            assert hits["late.bin"] == 2
    finally:
        cache.close()
        await runner.cleanup()


def test_cache_directory_is_emptied_when_the_agent_starts(tmp_path: Path) -> None:
    stale = tmp_path / "cache" / "1" / "executor.pyz"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"from an earlier agent")
    FetcherCache(tmp_path / "cache")
    assert not stale.exists()
