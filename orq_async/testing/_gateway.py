"""The gateway's routing: load balancer, retries, per-call timeout, fallbacks.

For one request the chain of models is the primary (the balancer's weighted pick when
``load_balancer`` is given, else ``model``) followed by ``fallbacks`` in order. Each model is
called once, plus up to ``retry.count`` more times while its failure status is in
``retry.on_codes`` (no pause between gateway retries). A call longer than
``timeout.call_timeout`` ms is abandoned and counts as a 504 (so it is retried by the default
``on_codes``). The next model of the chain is tried only when the failure's status is in
``fallback_on_codes`` (omitted or empty: ``DEFAULT_FALLBACK_ON_CODES``). The first success
wins;otherwise the answer is the last failure's status.
"""

from __future__ import annotations

import asyncio
import random
import time

import attrs

from orq_async.contract import DEFAULT_FALLBACK_ON_CODES

from ._models import LocalModels, ModelOutput, ProviderFailure
from ._options import GatewayOptions
from ._request import EditRequest
from ._traces import ProviderCall

__all__ = ["TIMEOUT_STATUS", "Outcome", "Router"]

TIMEOUT_STATUS = 504


@attrs.frozen
class Outcome:
    """The result of routing one request: the output, or the last failure."""

    attempts: tuple[ProviderCall, ...]
    output: ModelOutput | None = None
    model_used: str | None = None
    failure: ProviderFailure | None = None


class Router:
    """Routes requests over the local models with a seeded RNG for the load balancer."""

    def __init__(self, models: LocalModels, rng: random.Random) -> None:
        self._models = models
        self._rng = rng

    def primary(self, request: EditRequest, options: GatewayOptions) -> str:
        """Return the primary model: the balancer's weighted pick, else the requested one."""
        balancer = options.load_balancer
        if balancer is None:
            return request.model
        names = [entry.model for entry in balancer.models]
        weights = [entry.weight for entry in balancer.models]
        return self._rng.choices(names, weights=weights)[0]

    async def _call(self, model: str, request: EditRequest, timeout_ms: int | None) -> ModelOutput:
        if timeout_ms is None:
            return await self._models.call(model, request)
        try:
            return await asyncio.wait_for(self._models.call(model, request), timeout_ms / 1000)
        except asyncio.TimeoutError:
            raise ProviderFailure(
                TIMEOUT_STATUS, f"{model} did not answer within {timeout_ms} ms"
            ) from None

    async def route(self, request: EditRequest, options: GatewayOptions) -> Outcome:
        """Try the chain of models and return what happened."""
        chain = [self.primary(request, options), *(options.fallbacks or ())]
        retry = options.retry
        fallback_codes = options.fallback_on_codes or DEFAULT_FALLBACK_ON_CODES
        attempts: list[ProviderCall] = []
        failure: ProviderFailure | None = None
        for model in chain:
            for _ in range(1 + (retry.count if retry is not None else 0)):
                started = time.perf_counter()
                try:
                    output = await self._call(model, request, options.timeout)
                except ProviderFailure as exc:
                    failure = exc
                    attempts.append(ProviderCall(model, exc.status, _since(started)))
                    if retry is None or exc.status not in retry.on_codes:
                        break
                else:
                    attempts.append(ProviderCall(model, 200, _since(started)))
                    return Outcome(tuple(attempts), output=output, model_used=model)
            if failure is not None and failure.status not in fallback_codes:
                break
        return Outcome(tuple(attempts), failure=failure)


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
