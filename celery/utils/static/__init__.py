"""Static files shipped with Celery."""
from __future__ import annotations

import os

__all__ = ('get_file', 'logo')


def get_file(*args: str) -> str:
    """Return the path of a static file."""
    return os.path.join(os.path.abspath(os.path.dirname(__file__)), *args)


def logo() -> bytes:
    """Return the bytes of the Celery logo image."""
    with open(get_file('celery_128.png'), 'rb') as fh:
        return fh.read()
