"""``DjangoWorkerFixup.worker``: the worker the fixup runs in."""
from __future__ import annotations

import pytest

pytest.importorskip('django')

from celery import signals
from celery.fixups.django import DjangoWorkerFixup


def test_worker_is_a_class_attribute_set_when_the_worker_starts(app):
    assert DjangoWorkerFixup.worker is None
    fixup = DjangoWorkerFixup(app)
    assert fixup.worker is None
    signals.worker_init.connect(fixup.on_worker_init)
    try:
        worker = object()
        signals.worker_init.send(sender=worker)
    finally:
        signals.worker_init.disconnect(fixup.on_worker_init)
    assert fixup.worker is worker
    assert DjangoWorkerFixup.worker is None
