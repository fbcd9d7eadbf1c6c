"""Observer pattern dispatch (signals)."""
from celery.utils.dispatch.signal import Signal

__all__ = ('Signal',)
