"""Prometheus metrics of the SMS gateway (one registry per gateway instance)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """Counters, gauges and the round-trip histogram."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.bound = Gauge("sms_smpp_bound", "1 while bound to the SMSC", registry=r)
        self.binds = Counter("sms_smpp_binds", "Successful binds", registry=r)
        self.mo = Counter("sms_mo", "MO messages by outcome", ["outcome"], registry=r)
        self.mt = Counter("sms_mt", "MT messages by outcome", ["outcome"], registry=r)
        self.submits = Counter("sms_submit_sm", "submit_sm answered, by result", ["result"], registry=r)
        self.throttled = Counter("sms_throttling_errors", "ESME_RTHROTTLED / ESME_RMSGQFUL answers", registry=r)
        self.receipts = Counter("sms_delivery_receipts", "Delivery receipts by final state", ["state"], registry=r)
        self.queue_depth = Gauge("sms_queue_depth", "Entries not yet acknowledged", ["stream"], registry=r)
        self.stream_lag = Gauge("sms_stream_lag", "Entries not read yet by the group", ["stream"], registry=r)
        self.stream_pending = Gauge("sms_stream_pending", "Entries read, not acknowledged", ["stream"], registry=r)
        self.dead_letters = Gauge("sms_dead_letters", "Entries in the dead-letter stream", ["stream"], registry=r)
        self.loop_alive = Gauge("sms_loop_alive", "1 while a consumer loop ticks within its deadline", ["loop"],
                                registry=r)
        self.loop_events = Gauge("sms_loop_events", "Consumer loop counters since start (handled, failures, "
                                 "dead_lettered, claimed, redis_errors...)", ["loop", "kind"], registry=r)
        self.round_trip = Histogram(
            "sms_round_trip_seconds", "From deliver_sm received to the reply accepted by the SMSC",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60), registry=r,
        )
