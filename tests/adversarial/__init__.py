"""Adversarial tests (issue 10): hostile servers, hostile inputs and real link faults."""
