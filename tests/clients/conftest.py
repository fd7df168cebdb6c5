"""Real official clients against the emulator: shared emulator, key and sample images.

Each client's test module skips itself, with the reason printed (``pytest -rs``), when the
client is not installed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from orq_async.testing import Emulator

from ..testing._helpers import image_bytes

API_KEY = "client-test-key"
MODEL = "openai/gpt-image-1"


RED = image_bytes((255, 0, 0), (3, 2))
BLUE = image_bytes((0, 0, 255), (3, 2))


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(api_keys={API_KEY}, seed=3) as emulator:
        yield emulator
