"""Text formatting helpers."""
from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

__all__ = (
    'WhateverIO',
    'abbr',
    'abbrtask',
    'dedent',
    'dedent_initial',
    'ensure_newlines',
    'ensure_sep',
    'fill_paragraphs',
    'indent',
    'join',
    'match_case',
    'pluralize',
    'pretty',
    'remove_repeating',
    'remove_repeating_from_task',
    'simple_format',
    'str_to_list',
    'truncate',
)

UNKNOWN_SIMPLE_FORMAT_KEY = """
Unknown format %{0} in string {1!r}.
Possible causes: Did you forget to escape the expand sign (use '%%{0!r}'),
or did you escape and the value was expanded twice? (%%N -> %N -> %hostname)?
""".strip()

RE_FORMAT = re.compile(r'%([\w%])')


def str_to_list(s: str | list[str]) -> list[str]:
    """Split a comma-separated string into a list; lists pass through."""
    if isinstance(s, str):
        return [part.strip() for part in s.split(',') if part.strip()]
    return s


def dedent_initial(s: str, n: int = 4) -> str:
    """Remove ``n`` leading spaces from ``s`` if it has them."""
    return s[n:] if s[:n] == ' ' * n else s


def dedent(s: str, sep: str = '\n') -> str:
    """Remove four leading spaces from every line of ``s``."""
    return sep.join(dedent_initial(line) for line in s.splitlines())


def fill_paragraphs(s: str, width: int, sep: str = '\n') -> str:
    """Wrap each paragraph of ``s`` to ``width`` columns."""
    from textwrap import fill
    return sep.join(fill(paragraph, width) for paragraph in s.split(sep))


def join(items: Iterable[str], sep: str = '\n') -> str:
    """Join the non-empty strings in ``items``."""
    return sep.join(item for item in items if item)


def ensure_sep(sep: str, s: str, n: int = 2) -> str:
    """Pad ``s`` with ``sep`` so that it contains it at least ``n`` times."""
    return s + sep * (n - s.count(sep))


ensure_newlines = partial(ensure_sep, '\n')


def abbr(s: str | None, max: int, ellipsis: str | bool = '...') -> str:
    """Cut ``s`` to ``max`` characters, ending with ``ellipsis`` when cut."""
    if s is None:
        return '???'
    if len(s) > max:
        if ellipsis:
            # ``True`` asks for the default marker (its len() used to raise TypeError).
            marker = ellipsis if isinstance(ellipsis, str) else '...'
            return s[:max - len(marker)] + marker
        return s[:max]
    return s


def abbrtask(S: str | None, max: int) -> str:
    """Shorten task name ``S`` to ``max`` characters by cutting its module path."""
    if S is None:
        return '???'
    if len(S) > max:
        module, _, cls = S.rpartition('.')
        module = abbr(module, max - len(cls) - 3, False)
        return f'{module}[.]{cls}'
    return S


def indent(t: str, indent: int = 0, sep: str = '\n') -> str:
    """Indent every line of ``t`` by ``indent`` spaces."""
    return sep.join(' ' * indent + line for line in t.split(sep))


def truncate(s: str, maxlen: int = 128, suffix: str = '...') -> str:
    """Cut ``s`` at a word boundary before ``maxlen`` characters."""
    if maxlen and len(s) >= maxlen:
        return s[:maxlen].rsplit(' ', 1)[0] + suffix
    return s


def pluralize(n: float, text: str, suffix: str = 's') -> str:
    """Return ``text`` with ``suffix`` unless ``n`` is one."""
    return text + suffix if n != 1 else text


def pretty(value: Any, width: int = 80, nl_width: int = 80, sep: str = '\n', **kw: Any) -> str:
    """Pretty-print ``value`` for the terminal."""
    from pprint import pformat
    if isinstance(value, dict):
        return f'{{{sep} {pformat(value, 4, nl_width)[1:]}'
    if isinstance(value, tuple):
        return f'{sep}{" " * 4}{pformat(value, width=nl_width, **kw)}'
    return pformat(value, width=width, **kw)


def match_case(s: str, other: str) -> str:
    """Return ``s`` in upper case if ``other`` is, else in lower case."""
    return s.upper() if other.isupper() else s.lower()


def simple_format(s: str, keys: Mapping[str, Any], pattern: re.Pattern[str] = RE_FORMAT,
                  expand: str = r'\1') -> str:
    """Replace ``%x`` in ``s`` with ``keys['x']`` (called if callable); ``%%`` is ``%``."""
    if not s:
        return s
    keys = {'%': '%', **keys}

    def resolve(match: re.Match[str]) -> str:
        key = match.expand(expand)
        try:
            resolver: Callable[[], str] | str = keys[key]
        except KeyError:
            raise ValueError(UNKNOWN_SIMPLE_FORMAT_KEY.format(key, s)) from None
        return resolver() if callable(resolver) else str(resolver)

    return pattern.sub(resolve, s)


def remove_repeating_from_task(task_name: str, s: str) -> str:
    """Drop repeats of the task's module path in ``s`` (keeps messages short)."""
    module = task_name.rpartition('.')[0] + '.'
    return remove_repeating(module, s)


def remove_repeating(substr: str, s: str) -> str:
    """Keep the first occurrence of ``substr`` in ``s`` and remove the others."""
    index = s.find(substr)
    if index < 0:
        return s
    head_end = index + len(substr)
    return s[:head_end] + s[head_end:].replace(substr, '')


class WhateverIO(io.StringIO):
    """StringIO that also accepts bytes (decoded as UTF-8)."""

    def write(self, data: str | bytes) -> int:
        """Write ``data``, decoding bytes first."""
        if isinstance(data, bytes):
            data = data.decode('utf-8', 'replace')
        return super().write(data)
