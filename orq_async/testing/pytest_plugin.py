"""pytest fixtures giving each test a running emulator and an ``OrqCore`` pointed at it.

Registered through the ``pytest11`` entry point ``orq_async``, so it loads in every pytest run
of an environment where orq-async is installed: it imports nothing heavy at load (the emulator
and the SDK are imported by the fixtures that use them), and it defines its fixtures only when
``pytest-asyncio`` is installed (``pip install 'orq-async[pytest]'``); without it, or with
``pytest -p no:orq_async``, it adds nothing.

Fixtures (function scope):

- ``orq_emulator``: a started :class:`~orq_async.testing.Emulator` (``url``, ``traces``,
  ``inject*``), configured by the ``orq_emulator`` marker, e.g.
  ``@pytest.mark.orq_emulator(api_keys={"k"}, seed=7, rate_limit=5, burst=2, prompts={...})``
  (any :class:`Emulator` argument). Without a marker: one API key, ``orq_api_key``, and seed 0.
  Models are chosen per request by name (``local/echo``, ``local/fail-503``, ...).
- ``orq_api_key``: a key the ``orq_emulator`` accepts (None when it accepts any).
- ``orq_core``: an open :class:`~orq_async.OrqCore` with ``server_url=orq_emulator.url`` and
  that key; closed after the test.
- ``orq_emulator_factory``: ``await orq_emulator_factory(**kwargs)`` starts more emulators,
  all closed after the test.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from orq_async.core import OrqCore
    from orq_async.testing import Emulator

__all__ = ["DEFAULT_API_KEY", "MARKER", "pytest_configure"]

MARKER = "orq_emulator"
DEFAULT_API_KEY = "orq-test-key"
_DEFAULTS: dict[str, Any] = {"api_keys": {DEFAULT_API_KEY}, "seed": 0}
EmulatorFactory = Callable[..., Awaitable["Emulator"]]


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``orq_emulator`` marker."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**kwargs): arguments of the orq_emulator fixture's Emulator "
        "(api_keys, seed, prompts, rate_limit, burst, ...)",
    )


def _settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    settings = dict(_DEFAULTS)
    for marker in reversed(list(request.node.iter_markers(MARKER))):  # closest marker wins
        if marker.args:
            raise TypeError(f"@pytest.mark.{MARKER} takes keyword arguments only")
        settings.update(marker.kwargs)
    return settings


if importlib.util.find_spec("pytest_asyncio") is not None:
    import pytest_asyncio

    @pytest_asyncio.fixture
    async def orq_emulator_factory() -> AsyncIterator[EmulatorFactory]:
        """Start emulators with any :class:`Emulator` arguments; all close after the test."""
        from orq_async.testing import Emulator

        started: list[Emulator] = []

        async def start(**kwargs: Any) -> Emulator:
            emulator = Emulator(**kwargs)
            await emulator.start()
            started.append(emulator)
            return emulator

        try:
            yield start
        finally:
            for emulator in started:
                await emulator.close()

    @pytest.fixture
    def orq_api_key(request: pytest.FixtureRequest) -> str | None:
        """A key the ``orq_emulator`` accepts (None: it accepts any)."""
        keys = _settings(request)["api_keys"]
        return None if keys is None else sorted(keys)[0]

    @pytest_asyncio.fixture
    async def orq_emulator(
        request: pytest.FixtureRequest, orq_emulator_factory: EmulatorFactory
    ) -> Emulator:
        """A started emulator configured by the ``orq_emulator`` marker."""
        return await orq_emulator_factory(**_settings(request))

    @pytest_asyncio.fixture
    async def orq_core(orq_emulator: Emulator, orq_api_key: str | None) -> AsyncIterator[OrqCore]:
        """An open ``OrqCore`` pointed at ``orq_emulator``."""
        from orq_async.core import OrqCore

        async with OrqCore(api_key=orq_api_key, server_url=orq_emulator.url) as core:
            yield core
