"""The clients under test, each behind the same small interface.

Every client sends the same request: ``model``, ``prompt``, ``n``, ``size``, ``quality``,
``response_format``, ``user`` as text, ``cache``, ``retry`` and ``orq`` as JSON parts, and the
image(s). Where a client cannot, it sends less, and its request is the lighter for it:

- ``openai`` has no JSON parts: it could only send the options as bracketed text fields
  (``cache[type]=...``), which the gateway refuses;
- ``orq-ai-sdk`` sends integers as floats (``n`` as ``1.0``, ``"ttl": 3600.0``) and fills in a
  default ``cache.ttl``, all refused by the gateway: it goes without ``n``, ``cache``, ``retry``.

Each client keeps one connection pool for its whole process, with its library's default pool
size (aiohttp, orq_async, httpx and orq-ai-sdk: 100 connections; openai: 1000).

A client that cannot do something says why (:class:`Unsupported`) instead of faking it.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import IO, Any

PATH = "/v2/router/images/edits"
API_KEY = "bench-key"
MODEL = "openai/gpt-image-1"
PROMPT = "Put the logo on the mug"
TEXT: dict[str, str] = {
    "n": "1",
    "size": "1024x1024",
    "quality": "high",
    "response_format": "b64_json",
    "user": "bench-user",
}
JSON_FIELDS: dict[str, Any] = {
    "cache": {"type": "exact_match", "ttl": 3600},
    "retry": {"count": 2, "on_codes": [429, 503]},
    "orq": {"identity": {"id": "contact_123"}},
}
FILENAME = "image.png"
PNG = "image/png"

ImageSource = bytes | Path | IO[bytes]


class Unsupported(Exception):
    """The client cannot do what was asked (recorded as such, never worked around)."""


class BadResponse(Exception):
    """The call did not end in a parsed 200 response."""


class Client:
    """One client library, set up once per process."""

    name = ""
    label = ""
    #: Importable modules the client needs, to tell "not installed".
    requires: tuple[str, ...] = ()
    #: Can it upload several images in one call?
    multi_image = True

    async def start(self, url: str) -> None:
        """Create the client (pool, session) for the server at ``url``."""
        raise NotImplementedError

    async def edit(self, images: list[ImageSource]) -> None:
        """One call with these images; raise on anything but a parsed 200 response."""
        raise NotImplementedError

    async def close(self) -> None:
        """Release the client."""

    @classmethod
    def available(cls) -> str | None:
        """None if installed, else why not."""
        missing = [m for m in cls.requires if importlib.util.find_spec(m) is None]
        return f"not installed ({', '.join(missing)})" if missing else None

    def check(self, images: list[ImageSource]) -> None:
        """Raise :class:`Unsupported` for inputs the client cannot take."""
        if len(images) > 1 and not self.multi_image:
            raise Unsupported("uploads one image per call only")


def _as_bytes_or_file(image: ImageSource) -> bytes | IO[bytes]:
    if isinstance(image, Path):
        raise Unsupported("refuses paths")
    return image


class OrqAsyncFunc(Client):
    """orq_async's standalone function with a shared OrqCore."""

    name = "orq_async"
    label = "orq_async standalone function"
    requires = ("orq_async",)

    async def start(self, url: str) -> None:
        from orq_async import Ok, OrqCore
        from orq_async.funcs.router_images_edits_create import router_images_edits_create

        self.core = OrqCore(API_KEY, server_url=url)
        self.fn = router_images_edits_create
        self.ok = Ok  # imported once, as a user's module would (not per call)

    def _body(self, images: list[ImageSource]) -> dict[str, Any]:
        return {
            "model": MODEL,
            "prompt": PROMPT,
            "image": images if len(images) > 1 else images[0],
            "n": 1,
            "size": TEXT["size"],
            "quality": TEXT["quality"],
            "response_format": TEXT["response_format"],
            "user": TEXT["user"],
            **JSON_FIELDS,
        }

    async def edit(self, images: list[ImageSource]) -> None:
        result = await self.fn(self.core, self._body(images))
        if not isinstance(result, self.ok):
            raise BadResponse(repr(result))

    async def close(self) -> None:
        await self.core.aclose()


class OrqAsyncFacade(OrqAsyncFunc):
    """orq_async's method-style facade ``Orq(...).router.images.edits.create``."""

    name = "orq_async_facade"
    label = "orq_async facade"

    async def start(self, url: str) -> None:
        from orq_async import Orq

        self.orq = Orq(API_KEY, server_url=url)

    async def edit(self, images: list[ImageSource]) -> None:
        await self.orq.router.images.edits.create(**self._body(images))

    async def close(self) -> None:
        await self.orq.aclose()


class AiohttpFloor(Client):
    """Hand-written aiohttp: one session, ``FormData``, ``json.loads`` (the floor)."""

    name = "aiohttp"
    label = "hand-written aiohttp (floor)"
    requires = ("aiohttp",)

    async def start(self, url: str) -> None:
        import aiohttp

        self.aiohttp = aiohttp
        self.session = aiohttp.ClientSession()
        self.url = url + PATH
        self.headers = {"Authorization": f"Bearer {API_KEY}", "Accept": "application/json"}

    async def edit(self, images: list[ImageSource]) -> None:
        form = self.aiohttp.FormData()
        form.add_field("model", MODEL)
        form.add_field("prompt", PROMPT)
        for name, value in TEXT.items():
            form.add_field(name, value)
        for name, value in JSON_FIELDS.items():
            form.add_field(name, json.dumps(value), content_type="application/json")
        opened: list[IO[bytes]] = []
        try:
            for image in images:
                if isinstance(image, Path):
                    # As users write it (a cheap open); closed below.
                    fobj = open(image, "rb")  # noqa: ASYNC230, SIM115
                    opened.append(fobj)
                    form.add_field("image", fobj, filename=image.name, content_type=PNG)
                else:
                    form.add_field("image", image, filename=FILENAME, content_type=PNG)
            async with self.session.post(self.url, data=form, headers=self.headers) as resp:
                body = await resp.read()
                status = resp.status
        finally:
            for fobj in opened:
                fobj.close()
        if status != 200:
            raise BadResponse(f"{status}: {body[:200]!r}")
        json.loads(body)

    async def close(self) -> None:
        await self.session.close()


def _text_part(delimiter: bytes, name: str, value: str, is_json: bool) -> bytes:
    head = f'Content-Disposition: form-data; name="{name}"\r\n'
    if is_json:
        head += "Content-Type: application/json\r\n"
    return delimiter + f"{head}\r\n{value}\r\n".encode()


def prebuilt_body(image: bytes, boundary: str) -> bytes:
    """The whole request body as one ``bytes``: the parts the SDK sends, in its order and layout
    (text fields, JSON fields compact, then the image)."""
    delimiter = f"--{boundary}\r\n".encode()
    parts = [_text_part(delimiter, "model", MODEL, False)]
    parts.append(_text_part(delimiter, "prompt", PROMPT, False))
    parts += [_text_part(delimiter, name, value, False) for name, value in TEXT.items()]
    parts += [
        _text_part(delimiter, name, json.dumps(JSON_FIELDS[name], separators=(",", ":")), True)
        for name in ("retry", "cache", "orq")  # the SDK's order of its JSON parts
    ]
    image_head = (
        f'Content-Disposition: form-data; name="image"; filename="{FILENAME}"\r\n'
        f"Content-Type: {PNG}\r\n\r\n"
    )
    parts += [delimiter, image_head.encode(), image, f"\r\n--{boundary}--\r\n".encode()]
    return b"".join(parts)


LIMIT_BOUNDARY = "0123456789abcdef0123456789abcdef"


class AiohttpLimit(Client):
    """aiohttp posting a body built once as ``bytes`` (the transport's limit).

    The same parts as the SDK sends, laid out once per image and cached, with a fixed
    ``Content-Type``: the least any aiohttp client can spend per request. It holds the whole
    body in memory, so it takes ``bytes`` images only (paths and files are "cannot").
    """

    name = "aiohttp_limit"
    label = "aiohttp, prebuilt bytes body (limit)"
    requires = ("aiohttp",)
    multi_image = False

    async def start(self, url: str) -> None:
        import aiohttp

        self.session = aiohttp.ClientSession()
        self.url = url + PATH
        self.headers = {
            "Authorization": f"Bearer {API_KEY}",
            "Accept": "application/json",
            "Content-Type": f"multipart/form-data; boundary={LIMIT_BOUNDARY}",
        }
        self.image: bytes | None = None
        self.body = b""

    def check(self, images: list[ImageSource]) -> None:
        super().check(images)
        if not isinstance(images[0], bytes):
            raise Unsupported("posts a prebuilt bytes body: bytes images only")

    async def edit(self, images: list[ImageSource]) -> None:
        image = images[0]
        if image is not self.image:  # a new scenario's image: lay its body out once
            self.check(images)
            assert isinstance(image, bytes)
            self.image, self.body = image, prebuilt_body(image, LIMIT_BOUNDARY)
        async with self.session.post(self.url, data=self.body, headers=self.headers) as resp:
            raw = await resp.read()
            status = resp.status
        if status != 200:
            raise BadResponse(f"{status}: {raw[:200]!r}")
        json.loads(raw)

    async def close(self) -> None:
        await self.session.close()


class HttpxClient(Client):
    """Hand-written httpx: one ``AsyncClient``, ``files=``, ``json.loads``."""

    name = "httpx"
    label = "hand-written httpx"
    requires = ("httpx",)

    async def start(self, url: str) -> None:
        import httpx

        self.client = httpx.AsyncClient(timeout=600)
        self.url = url + PATH
        self.headers = {"Authorization": f"Bearer {API_KEY}", "Accept": "application/json"}

    async def edit(self, images: list[ImageSource]) -> None:
        files: list[tuple[str, tuple[str | None, Any, str]]] = [
            (name, (None, json.dumps(value), "application/json"))
            for name, value in JSON_FIELDS.items()
        ]
        opened: list[IO[bytes]] = []
        try:
            for image in images:
                if isinstance(image, Path):
                    # As users write it (a cheap open); closed below.
                    fobj = open(image, "rb")  # noqa: ASYNC230, SIM115
                    opened.append(fobj)
                    files.append(("image", (image.name, fobj, PNG)))
                else:
                    files.append(("image", (FILENAME, image, PNG)))
            resp = await self.client.post(
                self.url,
                data={"model": MODEL, "prompt": PROMPT, **TEXT},
                files=files,
                headers=self.headers,
            )
        finally:
            for fobj in opened:
                fobj.close()
        if resp.status_code != 200:
            raise BadResponse(f"{resp.status_code}: {resp.content[:200]!r}")
        json.loads(resp.content)

    async def close(self) -> None:
        await self.client.aclose()


class OrqAiSdk(Client):
    """The official ``orq-ai-sdk``: ``create_async`` with its ``models.Image`` file input."""

    name = "orq_ai_sdk"
    label = "orq-ai-sdk (official)"
    requires = ("orq_ai_sdk",)
    multi_image = False

    async def start(self, url: str) -> None:
        from orq_ai_sdk import Orq, models
        from orq_ai_sdk.types import UNSET

        self.models = models
        self.unset = UNSET
        self.client = Orq(api_key=API_KEY, server_url=url)

    def check(self, images: list[ImageSource]) -> None:
        super().check(images)
        for image in images:
            _as_bytes_or_file(image)

    async def edit(self, images: list[ImageSource]) -> None:
        self.check(images)
        image = self.models.Image(
            file_name=FILENAME, content=_as_bytes_or_file(images[0]), content_type=PNG
        )
        await self.client.router.images.edits.create_async(
            model=MODEL,
            prompt=PROMPT,
            image=image,
            n=self.unset,  # n=1 goes out as "1.0", which the gateway refuses
            size=TEXT["size"],
            quality="high",
            response_format="b64_json",
            user=TEXT["user"],
            # It sends integers as floats ("ttl": 3600.0, "count": 2.0; a default ttl even when
            # none is given), which the gateway refuses: so no cache and no retry here.
            orq={"identity": {"id": "contact_123"}},
        )

    async def close(self) -> None:
        sdk_client = getattr(self.client.sdk_configuration, "async_client", None)
        if sdk_client is not None:
            await sdk_client.aclose()


class OpenAIClient(Client):
    """``openai`` ``AsyncOpenAI(base_url=...).images.edit`` pointed at the gateway."""

    name = "openai"
    label = "openai AsyncOpenAI"
    requires = ("openai",)

    async def start(self, url: str) -> None:
        from openai import AsyncOpenAI

        self.client = AsyncOpenAI(api_key=API_KEY, base_url=url + "/v2/router")

    async def edit(self, images: list[ImageSource]) -> None:
        files: list[Any] = [
            image if isinstance(image, Path) else (FILENAME, image, PNG) for image in images
        ]
        await self.client.images.edit(
            model=MODEL,
            prompt=PROMPT,
            image=files if len(files) > 1 else files[0],
            n=1,
            size="1024x1024",
            quality="high",
            response_format="b64_json",
            user=TEXT["user"],
            # No cache / retry / orq: openai can only send them as bracketed text fields
            # (cache[type]=...), which the gateway refuses; its request is the lighter for it.
        )

    async def close(self) -> None:
        await self.client.close()


CLIENTS: dict[str, type[Client]] = {
    c.name: c
    for c in (
        OrqAsyncFunc,
        OrqAsyncFacade,
        AiohttpFloor,
        AiohttpLimit,
        OrqAiSdk,
        OpenAIClient,
        HttpxClient,
    )
}
FLOOR = AiohttpFloor.name
LIMIT = AiohttpLimit.name
CORE_CLIENTS = (OrqAsyncFunc.name, FLOOR, LIMIT)
ALL_CLIENTS = tuple(CLIENTS)


def label(name: str) -> str:
    """The human name of a client."""
    return CLIENTS[name].label
