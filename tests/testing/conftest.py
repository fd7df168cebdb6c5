"""Fixtures of the emulator tests: a running emulator and a client session, both closed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from orq_async.testing import Emulator


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(seed=1234) as emulator:
        yield emulator


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client
