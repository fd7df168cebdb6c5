"""Downloading output images named by URL, safely: the answer of a server is not trusted.

Only ``https://`` URLs are fetched (plus ``http://`` to loopback, for the emulator), every
redirect is checked the same way, the size and the time are capped, and the bytes must be a
PNG, JPEG or WebP image. The API key is never sent (the URLs may be on another host).
"""

from __future__ import annotations

import asyncio

import aiohttp
import attrs
from yarl import URL

from orq_async.cli._connection import is_loopback
from orq_async.cli._output import EXIT_API, CliError
from orq_async.models.limits import sniff_image_type

__all__ = ["DownloadLimits", "download"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@attrs.frozen
class DownloadLimits:
    """Caps of one image download: bytes, seconds (redirects included) and redirects."""

    max_bytes: int = 64 * 1024 * 1024
    timeout: float = 60.0
    max_redirects: int = 5


def _checked(url: URL) -> URL:
    if url.scheme == "https" or (url.scheme == "http" and is_loopback(url.host)):
        return url
    raise CliError(f"refused to download {url}: only https:// URLs are fetched", EXIT_API)


async def _fetch(session: aiohttp.ClientSession, raw: str, limits: DownloadLimits) -> bytes:
    url = _checked(URL(raw))
    for _ in range(limits.max_redirects + 1):
        async with session.get(url, allow_redirects=False) as resp:
            if resp.status in _REDIRECTS and "Location" in resp.headers:
                url = _checked(url.join(URL(resp.headers["Location"])))
                continue
            if resp.status != 200:
                raise CliError(f"downloading {url}: HTTP {resp.status}", EXIT_API)
            data = bytearray()
            async for chunk in resp.content.iter_chunked(65536):
                data += chunk
                if len(data) > limits.max_bytes:
                    raise CliError(
                        f"downloading {url}: larger than {limits.max_bytes} bytes", EXIT_API
                    )
            if sniff_image_type(bytes(data[:12])) is None:
                raise CliError(f"downloading {url}: not a PNG, JPEG or WebP image", EXIT_API)
            return bytes(data)
    raise CliError(f"downloading {raw}: more than {limits.max_redirects} redirects", EXIT_API)


async def download(session: aiohttp.ClientSession, url: str, limits: DownloadLimits) -> bytes:
    """The image at ``url``, within ``limits``.

    Raises:
        CliError: refused, failed, too big, too slow or not an image (exit 1).
    """
    try:
        return await asyncio.wait_for(_fetch(session, url, limits), limits.timeout)
    except asyncio.TimeoutError:
        raise CliError(
            f"downloading {url}: no answer within {limits.timeout:g} s", EXIT_API
        ) from None
    except (aiohttp.ClientError, ValueError) as exc:
        raise CliError(f"downloading {url}: {str(exc) or type(exc).__name__}", EXIT_API) from None
