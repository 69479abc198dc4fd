"""Scheduling: the replicated job state machine and its parts, and the worker-selection policies."""
