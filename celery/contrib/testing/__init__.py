"""Helpers for testing Celery applications: a test app, an embedded worker, mocks.

Nothing here is imported by ``import celery``: load the modules you need,
e.g. :mod:`celery.contrib.testing.worker` for :func:`~.worker.start_worker`.
"""
