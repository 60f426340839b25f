"""Prometheus metrics and health endpoints (``--metrics-listen``): the metrics, and their server.

* :mod:`streams.metrics.registry` declares every metric (``txscreen_<noun>_<unit>``, labels from small
  fixed sets) on a registry of its own, with the standard process metrics;
* :mod:`streams.metrics.reasons` turns a dead letter's free-text reason into a short class;
* :mod:`streams.metrics.lag` reads the consumer lag per partition, transaction markers accounted for;
* :mod:`streams.metrics.server` serves ``/metrics``, ``/healthz`` and ``/readyz``.
"""
