"""Tests of the local gateway emulator, ``orq_async.testing``."""
