"""Text helpers and terminal colours."""
from __future__ import annotations

import pickle

import pytest

from celery.utils.term import colored, supports_images
from celery.utils.text import (
    WhateverIO,
    abbr,
    abbrtask,
    dedent,
    ensure_newlines,
    fill_paragraphs,
    indent,
    join,
    pluralize,
    pretty,
    remove_repeating,
    remove_repeating_from_task,
    simple_format,
    str_to_list,
    truncate,
)


def test_abbr():
    assert abbr('abcdefgh', 5) == 'ab...'
    assert abbr('abcdefgh', 5, ellipsis=False) == 'abcde'
    assert abbr('abc', 5) == 'abc'
    assert abbr(None, 5) == '???'


def test_abbr_with_ellipsis_true_uses_the_default_marker():
    # ``ellipsis`` accepts a bool: True is the default marker (len(True) raised TypeError).
    assert abbr('abcdefgh', 5, ellipsis=True) == 'ab...'
    assert abbr('abcdefgh', 5, ellipsis='~') == 'abcd~'


def test_abbrtask():
    assert abbrtask('proj.tasks.module.add', 14) == 'proj.tas[.]add'
    assert abbrtask('short', 10) == 'short'
    assert abbrtask(None, 3) == '???'


def test_line_helpers():
    assert dedent('    a\n    b') == 'a\nb'
    assert indent('a\nb', 2) == '  a\n  b'
    assert join(['a', '', None, 'b']) == 'a\nb'
    assert ensure_newlines('x') == 'x\n\n'
    assert fill_paragraphs('aaa bbb', 3) == 'aaa\nbbb'


def test_truncate_and_pluralize():
    assert truncate('hello world again', 12) == 'hello world...'
    assert truncate('hello world again', 9) == 'hello...'
    assert truncate('short', 12) == 'short'
    assert pluralize(1, 'task') == 'task'
    assert pluralize(2, 'task') == 'tasks'


def test_str_to_list():
    assert str_to_list('a, b,,c') == ['a', 'b', 'c']
    assert str_to_list(['x']) == ['x']


def test_pretty():
    assert pretty([1, 2]) == '[1, 2]'
    assert pretty({'a': 1}).startswith('{\n')


def test_simple_format():
    assert simple_format('%a-%b %%', {'a': 'x', 'b': lambda: 'y'}) == 'x-y %'
    assert simple_format('', {}) == ''
    with pytest.raises(ValueError):
        simple_format('%z', {})


def test_remove_repeating():
    assert remove_repeating('proj.', 'proj.a proj.b') == 'proj.a b'
    assert remove_repeating_from_task('proj.tasks.add', 'proj.tasks.x proj.tasks.y') == \
        'proj.tasks.x y'


def test_whatever_io_accepts_bytes():
    buf = WhateverIO()
    buf.write(b'abc')
    buf.write('def')
    assert buf.getvalue() == 'abcdef'


class TestColored:

    def test_colour_codes(self):
        assert str(colored().red('x')) == '\033[1;31mx\033[0m'

    def test_disabled(self):
        assert str(colored(enabled=False).red('x')) == 'x'

    def test_nesting_and_no_color(self):
        c = colored().bold(colored().green('a'), 'b')
        assert c.no_color() == 'ab'
        assert 'a' in str(c) and '\033[1m' in str(c)

    def test_add_and_names(self):
        assert (colored().blue('a') + 'b').endswith('b')
        assert set(colored().names) >= {'red', 'green', 'blue', 'magenta', 'yellow'}

    def test_pickles(self):
        assert str(pickle.loads(pickle.dumps(colored().red('x')))) == str(colored().red('x'))

    def test_supports_images_is_false_outside_iterm(self, monkeypatch):
        monkeypatch.delenv('ITERM_PROFILE', raising=False)
        assert supports_images() is False
