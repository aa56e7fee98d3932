"""Prometheus metrics: one registry per app, an ASGI middleware for requests and latency.

Series (all prefixed ``provenant_``): ``http_requests_total{method,route,status}``,
``http_request_duration_seconds{method,route}`` (histogram), ``http_requests_in_progress``,
``rejected_total{reason}`` (overloaded, timeout), ``verdicts_total{label}``,
``watermark_detections_total{detected}``, ``job_transitions_total{kind,state}`` (seen by
this process) and ``jobs_in_state{state}`` (rows of the jobs table, read at scrape time).
Routes are labelled by their template (``/v1/jobs/{job_id}``), never by the raw path.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["Metrics", "MetricsMiddleware"]

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0)
_JOB_STATES = ("queued", "running", "succeeded", "failed")


class Metrics:
    """The app's collectors, in their own registry (several apps can live in one process)."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.requests = Counter("provenant_http_requests_total", "HTTP requests answered",
                                ["method", "route", "status"], registry=r)
        self.latency = Histogram("provenant_http_request_duration_seconds",
                                 "HTTP request latency", ["method", "route"],
                                 buckets=_BUCKETS, registry=r)
        self.in_progress = Gauge("provenant_http_requests_in_progress",
                                 "HTTP requests being handled", registry=r)
        self.rejected = Counter("provenant_rejected_total",
                                "requests turned away for capacity or time", ["reason"], registry=r)
        self.verdicts = Counter("provenant_verdicts_total", "verification verdicts by label",
                                ["label"], registry=r)
        self.watermarks = Counter("provenant_watermark_detections_total",
                                  "watermark detections by outcome", ["detected"], registry=r)
        self.job_events = Counter("provenant_job_transitions_total", "job state transitions",
                                  ["kind", "state"], registry=r)
        self.jobs = Gauge("provenant_jobs_in_state", "jobs in the jobs table by state", ["state"],
                          registry=r)

    def render(self, job_counts: dict[str, int] | None = None) -> bytes:
        for state in _JOB_STATES:
            self.jobs.labels(state).set((job_counts or {}).get(state, 0))
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Pure ASGI middleware (no body buffering): counts and times every HTTP request."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        start = time.perf_counter()

        async def send_wrapper(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_progress.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.in_progress.dec()
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope.get("method", "GET")
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - start)
