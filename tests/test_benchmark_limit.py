"""The limit client of ``benchmarks/`` sends exactly the SDK's body (boundary aside).

Issue 9 measures orq_async against that client; if the two bodies drift apart, the ratios
compare different requests and mean nothing.
"""

from __future__ import annotations

import pytest

from benchmarks import limit


def test_the_limit_client_sends_the_sdks_body() -> None:
    limit.check_same_body()


def test_a_drifted_limit_body_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = limit.prebuilt_body

    def drifted(image: bytes, boundary: str) -> bytes:
        return real(image, boundary).replace(b'"ttl":3600', b'"ttl":3601')

    monkeypatch.setattr(limit, "prebuilt_body", drifted)
    with pytest.raises(limit.BodyMismatch, match="differs from the SDK's"):
        limit.check_same_body()
