"""Where sync files go: a local folder or a WebDAV server, with the same small interface.

Every write lands under a temporary name first and is then renamed (`os.replace`, WebDAV
`MOVE`), so a reader — another device, or us after a crash — never sees half a file; a killed
upload leaves at most a `.tmp-*` file in our own device folder, removed by the next sync.
Paths are relative, `/`-separated, made by `layout.py` (never from user input).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, Protocol, TypeVar
from urllib.parse import quote, unquote, urlsplit

import httpx

from app.fsmodes import private_dir, write_private_atomic
from app.sync.address import check_url
from app.sync.errors import BadTarget, CredentialsRejected, SyncError, TargetUnreachable

_P = ParamSpec("_P")
_R = TypeVar("_R")


@dataclass
class Traffic:
    """Bytes that crossed to and from the target (benchmarks and tests read it)."""

    sent: int = 0
    received: int = 0
    requests: int = 0


class Target(Protocol):
    traffic: Traffic

    @property
    def label(self) -> str: ...

    async def get(self, path: str) -> bytes | None: ...

    async def put(self, path: str, data: bytes, *, tmp_dir: str) -> None: ...

    async def put_new(self, path: str, data: bytes, *, tmp_dir: str) -> bool: ...

    async def listdir(self, path: str) -> list[str]: ...

    async def ensure_dir(self, path: str) -> None: ...

    async def delete(self, path: str) -> None: ...

    async def aclose(self) -> None: ...


def _tmp_name(tmp_dir: str) -> str:
    return f"{tmp_dir}/.tmp-{secrets.token_hex(8)}"


class FolderTarget:
    """A folder (perhaps carried by Syncthing or Dropbox): plain files, atomic renames."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.traffic = Traffic()

    @property
    def label(self) -> str:
        return str(self.root)

    def _p(self, path: str) -> Path:
        return self.root.joinpath(*path.split("/"))

    async def get(self, path: str) -> bytes | None:
        def read() -> bytes | None:
            try:
                return self._p(path).read_bytes()
            except FileNotFoundError:
                return None
        data = await asyncio.to_thread(_local(read))
        self.traffic.requests += 1
        self.traffic.received += len(data or b"")
        return data

    async def put(self, path: str, data: bytes, *, tmp_dir: str) -> None:
        await asyncio.to_thread(_local(write_private_atomic), self._p(path), data,
                                overwrite=True)
        self.traffic.requests += 1
        self.traffic.sent += len(data)

    async def put_new(self, path: str, data: bytes, *, tmp_dir: str) -> bool:
        try:
            await asyncio.to_thread(_local(write_private_atomic), self._p(path), data,
                                    overwrite=False)
        except FileExistsError:
            return False
        finally:
            self.traffic.requests += 1
        self.traffic.sent += len(data)
        return True

    async def listdir(self, path: str) -> list[str]:
        def names() -> list[str]:
            try:
                return sorted(p.name for p in self._p(path).iterdir())
            except FileNotFoundError:
                return []
        return await asyncio.to_thread(_local(names))

    async def ensure_dir(self, path: str) -> None:
        await asyncio.to_thread(_local(private_dir), self._p(path))

    async def delete(self, path: str) -> None:
        await asyncio.to_thread(_local(_unlink), self._p(path))

    async def aclose(self) -> None:
        return None


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


def _local(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Wrap a blocking folder operation so an OSError becomes one sentence."""
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return fn(*args, **kwargs)
        except FileExistsError:
            raise
        except OSError as exc:
            raise TargetUnreachable(
                f"The sync folder cannot be used: {exc.strerror or exc}.") from None
    return run


_DAV = "{DAV:}"


class WebDavTarget:
    """A WebDAV collection over httpx (Nextcloud, ownCloud, rclone serve webdav, …)."""

    def __init__(self, url: str, user: str, password: str, *,
                 timeout: float = 30.0, transport: httpx.AsyncBaseTransport | None = None
                 ) -> None:
        check_url(url)
        self._base = url.rstrip("/") + "/"
        self.traffic = Traffic()
        self._client = httpx.AsyncClient(
            auth=httpx.BasicAuth(user, password), timeout=timeout, trust_env=False,
            transport=transport, follow_redirects=False)

    @property
    def label(self) -> str:
        parts = urlsplit(self._base)
        return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}" \
               f"{parts.path}"

    def _url(self, path: str) -> str:
        return self._base + quote(path)

    async def _request(self, method: str, path: str, *, ok: tuple[int, ...],
                       content: bytes | None = None, headers: dict[str, str] | None = None
                       ) -> httpx.Response:
        try:
            response = await self._client.request(method, self._url(path), content=content,
                                                  headers=headers)
        except httpx.TimeoutException:
            raise TargetUnreachable(f"The WebDAV server {self.label} did not answer in time; "
                                    "nothing was changed here.") from None
        except httpx.HTTPError as exc:
            raise TargetUnreachable(f"The WebDAV server {self.label} cannot be reached "
                                    f"({type(exc).__name__}); nothing was changed here.") from None
        self.traffic.requests += 1
        self.traffic.sent += len(content or b"")
        self.traffic.received += len(response.content)
        if response.status_code in ok:
            return response
        raise _status_error(response.status_code, method, self.label)

    async def get(self, path: str) -> bytes | None:
        response = await self._request("GET", path, ok=(200, 404))
        return None if response.status_code == 404 else response.content

    async def put(self, path: str, data: bytes, *, tmp_dir: str) -> None:
        await self._put_then_move(path, data, tmp_dir, overwrite=True)

    async def put_new(self, path: str, data: bytes, *, tmp_dir: str) -> bool:
        return await self._put_then_move(path, data, tmp_dir, overwrite=False)

    async def _put_then_move(self, path: str, data: bytes, tmp_dir: str, *,
                             overwrite: bool) -> bool:
        tmp = _tmp_name(tmp_dir)
        await self._request("PUT", tmp, ok=(200, 201, 204), content=data)
        try:
            response = await self._request(
                "MOVE", tmp, ok=(201, 204, 412),
                headers={"Destination": self._url(path), "Overwrite": "T" if overwrite else "F"})
            placed = response.status_code != 412
        except TargetUnreachable:
            # Two devices moving a new file to one name at once: a server may refuse one move
            # (wsgidav answers 500) although a file is there; for `put_new` that is a 412.
            if overwrite or not await self._exists(path):
                raise
            placed = False
        if not placed:
            with contextlib.suppress(SyncError):
                await self.delete(tmp)
        return placed

    async def listdir(self, path: str) -> list[str]:
        response = await self._request("PROPFIND", path.rstrip("/") + "/", ok=(207, 404),
                                       headers={"Depth": "1"},
                                       content=_RESOURCE_TYPE)
        if response.status_code == 404:
            return []
        own = urlsplit(self._url(path.rstrip("/") + "/")).path.rstrip("/")
        names = []
        try:
            root = ET.fromstring(response.content)
        except ET.ParseError:
            raise TargetUnreachable(f"The WebDAV server {self.label} sent an unreadable "
                                    "folder listing.") from None
        for href in root.iter(f"{_DAV}href"):
            target = urlsplit(unquote(href.text or "")).path.rstrip("/")
            if target != unquote(own) and "/" in target:
                names.append(target.rsplit("/", 1)[1])
        return sorted(names)

    async def ensure_dir(self, path: str) -> None:
        built = ""
        for part in path.split("/"):
            built = f"{built}/{part}" if built else part
            try:
                await self._request("MKCOL", built + "/", ok=(201, 405))
            except TargetUnreachable:
                # Two devices making the same folder at once: the loser may hear an error
                # (wsgidav answers 500) although the folder is there; only then is it one.
                if not await self._exists(built + "/"):
                    raise

    async def _exists(self, path: str) -> bool:
        response = await self._request("PROPFIND", path, ok=(207, 404),
                                       headers={"Depth": "0"},
                                       content=_RESOURCE_TYPE)
        return response.status_code == 207

    async def delete(self, path: str) -> None:
        await self._request("DELETE", path, ok=(200, 204, 404))

    async def aclose(self) -> None:
        await self._client.aclose()


_RESOURCE_TYPE = (b'<?xml version="1.0"?><propfind xmlns="DAV:">'
                  b'<prop><resourcetype/></prop></propfind>')


def _status_error(status: int, method: str, label: str) -> SyncError:
    if status in (401, 403):
        return CredentialsRejected(f"The WebDAV server {label} refused the user name or "
                                   f"password ({status}).")
    if status == 507:
        return TargetUnreachable(f"The WebDAV storage at {label} is full (507); free some "
                                 "space, nothing was changed here.")
    return TargetUnreachable(f"The WebDAV server {label} answered {status} to {method}; "
                             "nothing was changed here.")


def folder_target(text: str) -> FolderTarget:
    path = Path(os.path.expanduser(text))
    if path.exists() and not path.is_dir():
        raise BadTarget(f"{text} is a file, not a folder.")
    return FolderTarget(path.absolute())
