"""Prometheus metrics without a client library: request counts and latency histograms per route,
events accepted / duplicate / rejected, the served snapshot id and swap count.

Why a pure ASGI middleware (not BaseHTTPMiddleware): it adds microseconds, not a task per request.
Routes are labelled by their template (`/v1/profiles/{user_id}`), unmatched paths as `unmatched`,
so label cardinality stays bounded whatever clients send.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import defaultdict

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.hist: dict[str, list[int]] = defaultdict(lambda: [0] * (len(BUCKETS) + 1))
        self.sums: dict[str, float] = defaultdict(float)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        i = bisect.bisect_left(BUCKETS, seconds)
        with self.lock:
            self.requests[(method, route, status)] += 1
            self.hist[route][i] += 1
            self.sums[route] += seconds

    def render(self, counters: dict[str, int], snapshot_id: str | None, inbox_seq: int) -> str:
        out = ["# HELP portrait_http_requests_total HTTP requests by method, route template and status.",
               "# TYPE portrait_http_requests_total counter"]
        with self.lock:
            requests = dict(self.requests)
            hist = {k: list(v) for k, v in self.hist.items()}
            sums = dict(self.sums)
        for (method, route, status), n in sorted(requests.items()):
            out.append(f'portrait_http_requests_total{{method="{method}",route="{_esc(route)}",status="{status}"}} {n}')
        out += ["# HELP portrait_http_request_duration_seconds Request latency by route template.",
                "# TYPE portrait_http_request_duration_seconds histogram"]
        for route, counts in sorted(hist.items()):
            acc = 0
            for le, n in zip([*map(str, BUCKETS), "+Inf"], counts):
                acc += n
                out.append(f'portrait_http_request_duration_seconds_bucket{{route="{_esc(route)}",le="{le}"}} {acc}')
            out.append(f'portrait_http_request_duration_seconds_sum{{route="{_esc(route)}"}} {sums[route]:.6f}')
            out.append(f'portrait_http_request_duration_seconds_count{{route="{_esc(route)}"}} {acc}')
        out += ["# HELP portrait_events_total Events received by POST /v1/events, by result.",
                "# TYPE portrait_events_total counter"]
        for result in ("accepted", "duplicate", "rejected"):
            out.append(f'portrait_events_total{{result="{result}"}} {counters.get("events_" + result, 0)}')
        out += ["# HELP portrait_snapshot_info The snapshot being served (value 1).",
                "# TYPE portrait_snapshot_info gauge",
                f'portrait_snapshot_info{{snapshot_id="{_esc(snapshot_id or "")}"}} {1 if snapshot_id else 0}',
                "# HELP portrait_snapshot_swaps_total Times the server switched to a newer snapshot.",
                "# TYPE portrait_snapshot_swaps_total counter",
                f"portrait_snapshot_swaps_total {counters.get('snapshot_swaps', 0)}",
                "# HELP portrait_inbox_last_seq Sequence number of the newest event in the inbox.",
                "# TYPE portrait_inbox_last_seq gauge",
                f"portrait_inbox_last_seq {inbox_seq}"]
        return "\n".join(out) + "\n"


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class MetricsMiddleware:
    def __init__(self, app, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.observe(scope.get("method", ""), route, status[0], time.perf_counter() - start)
