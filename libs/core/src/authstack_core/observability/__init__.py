"""Prometheus metrics: the series (``series``), how they are read out (``exposition``) and the
values sampled rather than counted where they happen (``sampler``)."""
