"""The Mesos fetcher: URIs into the executor sandbox (http(s), file://, bare paths), extraction of
archives into the sandbox root (archive kept), `executable`, `output_file`."""

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


async def fetch_all(uris: list[mpb.CommandInfo.URI], sandbox: Path, session: aiohttp.ClientSession) -> None:
    for uri in uris:
        await fetch_one(uri, sandbox, session)


async def fetch_one(uri: mpb.CommandInfo.URI, sandbox: Path, session: aiohttp.ClientSession) -> Path:
    target = sandbox / target_name(uri)
    target.parent.mkdir(parents=True, exist_ok=True)
    scheme = urlparse(uri.value).scheme.lower() if "://" in uri.value else ""
    try:
        if scheme in ("http", "https"):
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
