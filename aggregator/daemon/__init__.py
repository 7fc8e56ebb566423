"""The long-running poller: APScheduler wiring, the storage lock, Prometheus metrics.

Exposes: ``scheduler`` (Daemon), ``lock`` (StorageLock), ``metrics`` (Metrics). May import
the pipeline, config and store; never web or cli.
"""
