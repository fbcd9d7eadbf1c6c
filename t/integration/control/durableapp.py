"""The control tests' app with durable revokes on (``worker_revokes_backend``)."""
from __future__ import annotations

from ctlapp import app

app.conf.worker_revokes_backend = 'result_backend'
