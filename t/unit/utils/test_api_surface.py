"""Celery's public names in ``celery.utils``: small helpers plugins import."""
from __future__ import annotations

import threading

from celery.utils import functional, term


def test_log_levels_are_reachable_from_the_package() -> None:
    import celery.utils
    from celery.utils.log import LOG_LEVELS
    assert celery.utils.LOG_LEVELS is LOG_LEVELS


def test_dummy_context_stands_in_for_a_lock() -> None:
    for guard in (functional.DummyContext(), threading.Lock()):
        with guard:
            pass
    with functional.DummyContext() as ctx:
        assert isinstance(ctx, functional.DummyContext)


def test_arity_greater() -> None:
    assert functional.arity_greater(lambda a, b: 0, 1)
    assert not functional.arity_greater(lambda a, b=1: 0, 2)
    assert functional.arity_greater(lambda *args: 0, 5)
    assert not functional.arity_greater(lambda a, *, b: 0, 1)


def test_head_from_fun_uses_the_template() -> None:
    def add(x, y=2, *, z):
        return x + y + z
    head = functional.head_from_fun(add)
    assert head._source == functional.FUNHEAD_TEMPLATE.format(
        fun_name='add', fun_args='x, y=default_0, *, z', fun_value=1)
    assert head(1, z=3) == 1


def test_terminal_helpers() -> None:
    assert term.fg(202) == '\033[38;5;202m'
    assert isinstance(term.TERM, str)
    assert term.TERM_IS_SCREEN is term.TERM.startswith('screen')


def test_imgcat_passes_through_screen(monkeypatch, tmp_path) -> None:
    image = tmp_path / 'x.png'
    image.write_bytes(b'PNG')
    monkeypatch.setattr(term, 'TERM_IS_SCREEN', True)
    assert term.imgcat(str(image)).startswith('\033Ptmux;')
    monkeypatch.setattr(term, 'TERM_IS_SCREEN', False)
    assert term.imgcat(str(image)).startswith('\033]1337;File=')
