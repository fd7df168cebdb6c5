"""The soak in small: 2 000 calls at concurrency 128 against the emulator, 10% injected 503s.

The same code as ``python -m benchmarks.soak`` (which runs 20 000): every call's result is
reconciled with the emulator's traces, and resources return to where they started.
"""

from __future__ import annotations

import attrs

from benchmarks.soak import PNG, RETRIES, CallRecord, SoakReport, reconcile, run_soak


async def test_soak_2000_calls() -> None:
    report = await run_soak(calls=2_000, concurrency=128, fault_rate=0.1, seed=7, wave=1_000)
    _every_call_reconciles_with_the_traces(report)
    _resources_return_to_their_level(report)


def _every_call_reconciles_with_the_traces(report: SoakReport) -> None:
    assert report.problems == []
    assert sum(report.outcomes.values()) == 2_000
    # Nothing lost, nothing duplicated beyond the retries: one trace per reported attempt.
    assert report.traces == report.attempts
    assert report.attempts == sum(n * count for n, count in report.attempts_histogram.items())
    # The faults really happened and really were retried (about 10% of the attempts).
    assert 0.06 * report.attempts < report.injected_503 < 0.14 * report.attempts
    assert report.attempts_histogram.get(2, 0) > 50
    assert max(report.attempts_histogram) <= RETRIES.max_retries + 1
    assert set(report.outcomes) <= {"Ok", "InternalServerError"}


def _resources_return_to_their_level(report: SoakReport) -> None:
    assert report.end.pool_acquired == 0
    assert report.end.pool_idle <= 128
    # Each idle pooled connection holds two descriptors here (the emulator is in-process).
    assert report.end.fds <= report.start.fds + 2 * report.end.pool_idle
    assert report.closed.fds == report.before.fds
    assert report.closed.pool_acquired == report.closed.pool_idle == 0
    assert len(report.waves) == 2
    for wave in report.waves:  # between waves too: nothing acquired, descriptors bounded
        assert wave.pool_acquired == 0
        assert wave.fds <= report.start.fds + 2 * wave.pool_idle


async def test_reconciliation_catches_lost_duplicated_and_altered_attempts() -> None:
    """The checks can fail: feed them a lost, a duplicated and an altered trace."""
    from orq_async import OrqCore
    from orq_async.funcs.router_images_edits_create import router_images_edits_create
    from orq_async.options import RequestOptions
    from orq_async.testing import Emulator

    async with Emulator() as emu:
        emu.inject(503, times=1)
        async with OrqCore(server_url=emu.url, retry_config=RETRIES, sleep=_no_sleep) as core:
            results = [
                await router_images_edits_create(
                    core,
                    {"model": "m", "prompt": "p", "image": PNG, "user": f"soak-{i}"},
                    RequestOptions(headers={"X-Soak-Call": str(i)}),
                )
                for i in range(2)
            ]
        traces = emu.traces
    assert [r.meta.attempts for r in results] == [2, 1]
    records = [CallRecord.of(r) for r in results]
    assert reconcile(records, traces) == []
    assert any("traced" in p for p in reconcile(records, traces[1:]))  # lost
    assert any("traced" in p for p in reconcile(records, [*traces, traces[-1]]))  # duplicated
    altered = attrs.evolve(traces[0], body_sha256="0" * 64)
    assert any("different bodies" in p for p in reconcile(records, [altered, *traces[1:]]))
    stray = attrs.evolve(traces[0], request_headers={})
    assert any("no call" in p for p in reconcile(records, [*traces, stray]))
    wrong_user = attrs.evolve(traces[-1], user="soak-0")  # a 200 answered to another call
    assert any("Ok, but" in p for p in reconcile(records, [*traces[:-1], wrong_user]))


async def _no_sleep(_seconds: float) -> None:
    return None
