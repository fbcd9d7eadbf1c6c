"""Entry point for the ``celery`` command and ``python -m celery``."""
from __future__ import annotations

import sys

__all__ = ('main',)


def main() -> None:
    """Run the ``celery`` umbrella command."""
    if 'multi' not in sys.argv:
        from celery import maybe_patch_concurrency
        maybe_patch_concurrency()
    from celery.bin.celery import main as _main
    sys.exit(_main())


if __name__ == '__main__':  # pragma: no cover
    main()
