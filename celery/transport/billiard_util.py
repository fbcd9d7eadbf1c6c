"""What the project reads and runs of billiard's process set-up beyond its public API.

Extends two pieces of billiard:

* :mod:`billiard.util`'s after-fork registry (the hooks given to its public
  ``register_after_fork()``, kombu's connection pools among them).  billiard
  runs the registry only from its own process bootstrap and hooks no
  :func:`os.register_at_fork`, so a daemon forked by ``--detach`` has no
  public way to run them: :func:`run_after_forkers` calls billiard's
  private runner.
* :mod:`billiard.spawn`'s child bootstrap, which gives a spawned child's
  logger a stand-in handler and marks it ``_rudimentary_setup``: the app's
  logging set-up must not take that handler for a configured one
  (:func:`has_rudimentary_setup`).

Both are read here and nowhere else; where an untested billiard lacks them
the hooks are skipped with a warning, and no logger counts as marked.
"""
from __future__ import annotations

import logging

from celery.utils.log import get_logger

__all__ = ('has_rudimentary_setup', 'run_after_forkers')

logger = get_logger(__name__)


def run_after_forkers() -> None:
    """Run the hooks registered with ``billiard.util.register_after_fork()``."""
    from billiard import util
    runner = getattr(util, '_run_after_forkers', None)
    if runner is None:
        logger.warning('This billiard cannot run its after-fork hooks in a daemon: skipped.')
        return
    runner()


def has_rudimentary_setup(target: logging.Logger) -> bool:
    """Whether ``target``'s handlers are the stand-ins billiard gives a spawned child."""
    return bool(getattr(target, '_rudimentary_setup', False))
