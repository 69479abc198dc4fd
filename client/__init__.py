"""podium's Python client (sync and async; over HTTP with httpx, or the native protocol) and
the ``podium`` command line. ``job_body`` builds one job of a ``submit_batch`` (or a
schedule's job); ``schedule_body`` one schedule."""

from client.api import AsyncClient, Client, PodiumError, TlsFiles, job_body, schedule_body

__all__ = ["AsyncClient", "Client", "PodiumError", "TlsFiles", "job_body", "schedule_body"]
