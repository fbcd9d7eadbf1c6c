"""Parsing crontab fields (``'*/15'``, ``'mon-fri'``, ``'1,15'``) into sets of numbers."""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, TypeAlias

from celery.utils.time import weekday, yearmonth

__all__ = ('ParseException', 'crontab_parser', 'cronfield', 'weekday_parser')


class ParseException(ValueError):
    """A crontab field could not be parsed."""


#: A crontab field: ``'*/15'``-style text, a number, or the numbers themselves.
CronField: TypeAlias = 'str | int | Iterable[int]'


def cronfield(s: CronField | None) -> CronField:
    """Return ``'*'`` for an unset crontab field."""
    return '*' if s is None else s


class crontab_parser:
    """Parse one crontab field into the set of values it selects.

    ``crontab_parser(60).parse('*/15')`` is ``{0, 15, 30, 45}``; the field
    accepts ``*``, numbers, names (``mon``, ``jan``), ranges ``a-b`` (wrapping,
    as in ``fri-mon``), steps ``*/n``, ``a-b/n`` and ``a/n``, and lists of these.
    """

    ParseException = ParseException

    _range = r'(\w+?)-(\w+)'
    _steps = r'/(\w+)?'
    _star = r'\*'

    def __init__(self, max_: int = 60, min_: int = 0) -> None:
        self.max_ = max_
        self.min_ = min_
        self.pats = (
            (re.compile(f'^{self._range}{self._steps}$'), self._range_steps),
            (re.compile(f'^{self._range}$'), self._expand_range),
            (re.compile(f'^{self._star}{self._steps}$'), self._star_steps),
            (re.compile(f'^{self._star}$'), self._expand_star),
            (re.compile(rf'^(\w+){self._steps}$'), self._start_steps),
        )

    def parse(self, spec: str) -> set[int]:
        """Return the set of values selected by ``spec``."""
        acc: set[int] = set()
        for part in spec.split(','):
            if not part:
                raise self.ParseException(f'empty part in {spec!r}')
            acc |= set(self._parse_part(part.strip()))
        return acc

    def _parse_part(self, part: str) -> list[int]:
        for regex, handler in self.pats:
            match = regex.match(part)
            if match:
                return handler(match.groups())
        return self._expand_range((part,))

    def _expand_range(self, toks: tuple[str, ...]) -> list[int]:
        fr = self._expand_number(toks[0])
        if len(toks) == 1:
            return [fr]
        to = self._expand_number(toks[1])
        if to < fr:  # wrap around, e.g. fri-mon
            return list(range(fr, self.min_ + self.max_)) + list(range(self.min_, to + 1))
        return list(range(fr, to + 1))

    def _step(self, token: str | None) -> int:
        if not token:
            raise self.ParseException('empty filter: a step needs a number after /')
        step = self._expand_number(token, check_bounds=False)
        if step < 1:
            raise self.ParseException(f'step must be at least 1, not {token!r}')
        return step

    def _range_steps(self, toks: tuple[str, ...]) -> list[int]:
        return self._expand_range(toks[:2])[::self._step(toks[2])]

    def _star_steps(self, toks: tuple[str, ...]) -> list[int]:
        return self._expand_star()[::self._step(toks[0])]

    def _start_steps(self, toks: tuple[str, ...]) -> list[int]:
        start = self._expand_number(toks[0])
        return list(range(start, self.min_ + self.max_, self._step(toks[1])))

    def _expand_star(self, *args: Any) -> list[int]:
        return list(range(self.min_, self.max_ + self.min_))

    def _expand_number(self, s: str, check_bounds: bool = True) -> int:
        if s.startswith('-'):
            raise self.ParseException(f'negative numbers not supported: {s!r}')
        try:
            number = int(s)
        except ValueError:
            number = self._expand_name(s)
        if not check_bounds:
            return number
        max_val = self.min_ + self.max_ - 1
        if number > max_val:
            raise self.ParseException(f'invalid end of range: {number} > {max_val}')
        if number < self.min_:
            raise self.ParseException(f'invalid beginning of range: {number} < {self.min_}')
        return number

    def _expand_name(self, s: str) -> int:
        for lookup in (yearmonth, weekday):
            try:
                return lookup(s)
            except KeyError:
                pass
        raise self.ParseException(f'invalid weekday or month name {s!r}')


class weekday_parser(crontab_parser):
    """Day-of-week parser: 0 (Sunday) to 6, and weekday names only (no month names)."""

    def _expand_name(self, s: str) -> int:
        try:
            return weekday(s)
        except KeyError:
            raise self.ParseException(f'invalid weekday name {s!r}') from None
