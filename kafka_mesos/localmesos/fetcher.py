"""The Mesos fetcher: URIs into the executor sandbox (http(s), file://, bare paths), extraction of
archives into the sandbox root (archive kept), `executable`, `output_file`, and the fetcher cache
(`URI.cache`: fetched once per agent and user, sandboxes get a copy)."""

from __future__ import annotations

import asyncio
import gzip
import os
import shutil
import tarfile
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlparse

import aiohttp

from kafka_mesos.mesos.pb import mesos_pb2 as mpb

TAR_SUFFIXES = (".tar", ".tgz", ".tar.gz", ".tbz2", ".tar.bz2", ".txz", ".tar.xz")


class FetchError(Exception):
    """A URI could not be fetched; the task fails with REASON_CONTAINER_LAUNCH_FAILED."""


def target_name(uri: mpb.CommandInfo.URI) -> str:
    if uri.HasField("output_file") and uri.output_file:
        return uri.output_file
    path = urlparse(uri.value).path if "://" in uri.value else uri.value
    name = os.path.basename(unquote(path).rstrip("/"))
    if not name:
        raise FetchError(f"Malformed URI (no basename): {uri.value}")
    return name


class FetcherCache:
    """Mesos' fetcher cache of one agent: a URI with ``cache`` set is downloaded once (per user) into
    ``directory``; concurrent launches wait for the same download. A failed download is not kept (the
    next launch tries again). Like Mesos' cache it lives as long as the agent: the directory is emptied
    when the agent starts, so a restarted agent fetches again."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._entries: dict[tuple[str, str], asyncio.Future[Path]] = {}
        self._serial = 0
        shutil.rmtree(directory, ignore_errors=True)

    async def get(self, uri: mpb.CommandInfo.URI, user: str, session: aiohttp.ClientSession) -> Path:
        key = (user, uri.value)
        entry = self._entries.get(key)
        if entry is None or (entry.done() and (entry.cancelled() or entry.exception() is not None)):
            self._serial += 1
            entry = asyncio.ensure_future(_download_into(uri, self.directory / str(self._serial), session))
            self._entries[key] = entry
        return await asyncio.shield(entry)

    def close(self) -> None:
        """Cancel downloads still in progress (the agent stops)."""
        for entry in self._entries.values():
            entry.cancel()


async def _download_into(uri: mpb.CommandInfo.URI, directory: Path, session: aiohttp.ClientSession) -> Path:
    plain = mpb.CommandInfo.URI(value=uri.value, extract=False)  # extraction happens per sandbox
    plain.output_file = target_name(uri)
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    return await fetch_one(plain, directory, session)


async def fetch_all(uris: list[mpb.CommandInfo.URI], sandbox: Path, session: aiohttp.ClientSession,
                    cache: FetcherCache | None = None, user: str = "") -> None:
    for uri in uris:
        await fetch_one(uri, sandbox, session, cache, user)


async def fetch_one(uri: mpb.CommandInfo.URI, sandbox: Path, session: aiohttp.ClientSession,
                    cache: FetcherCache | None = None, user: str = "") -> Path:
    target = sandbox / target_name(uri)
    target.parent.mkdir(parents=True, exist_ok=True)
    scheme = urlparse(uri.value).scheme.lower() if "://" in uri.value else ""
    try:
        if uri.cache and cache is not None:
            await asyncio.to_thread(shutil.copyfile, await cache.get(uri, user, session), target)
        elif scheme in ("http", "https"):
            await _download(uri.value, target, session)
        elif scheme == "file" or scheme == "":
            source = Path(unquote(urlparse(uri.value).path) if scheme == "file" else uri.value)
            if not source.is_absolute():
                raise FetchError(f"Relative path without --frameworks_home: {uri.value}")
            await asyncio.to_thread(shutil.copyfile, source, target)
        else:
            raise FetchError(f"Unsupported URI scheme '{scheme}' in {uri.value}")
    except FetchError:
        raise
    except (TimeoutError, OSError, aiohttp.ClientError) as exc:
        raise FetchError(f"Failed to fetch '{uri.value}': {exc}") from exc
    if uri.executable:
        target.chmod(0o755)
    elif uri.extract:
        await asyncio.to_thread(extract, target, sandbox)
    return target


async def _download(url: str, target: Path, session: aiohttp.ClientSession) -> None:
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=60)
    async with session.get(url, timeout=timeout) as response:
        if response.status != 200:
            raise FetchError(f"Error downloading '{url}': HTTP {response.status}")
        with target.open("wb") as out:
            async for chunk in response.content.iter_chunked(1 << 16):
                out.write(chunk)


def extract(archive: Path, sandbox: Path) -> None:
    """Unpack into the sandbox root, keeping the archive; bare `.gz` is gunzipped; others stay."""
    name = archive.name.lower()
    try:
        if name.endswith(TAR_SUFFIXES):
            with tarfile.open(archive) as tar:
                tar.extractall(sandbox, filter="data")
        elif name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zipped:
                zipped.extractall(sandbox)
        elif name.endswith(".gz"):
            with gzip.open(archive, "rb") as src, (sandbox / archive.name[:-3]).open("wb") as dst:
                shutil.copyfileobj(src, dst)
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as exc:
        raise FetchError(f"Failed to extract '{archive.name}': {exc}") from exc
