"""Prometheus metrics. Labels carry codes, outcomes and application ids only, never a value or a key."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gateway_requests", "GraphQL requests by operation, outcome and error code",
            ["operation", "outcome", "code"], registry=self.registry,
        )
        self.latency = Histogram(
            "gateway_request_seconds", "GraphQL request latency, audit included", ["operation"],
            registry=self.registry,
        )
        self.masked_values = Counter("gateway_masked_values", "Masked values returned", registry=self.registry)
        self.check_alarms = Counter(
            "gateway_check_alarms", "Data-check anomaly alarms by application and reason", ["application", "reason"],
            registry=self.registry,
        )
