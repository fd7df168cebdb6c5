"""Benchmarks of orq_async against hand-written aiohttp (the floor) and the peer SDKs.

Run everything with ``python -m benchmarks.run`` (see ``benchmarks/README.md``).
"""
