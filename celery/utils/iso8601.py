"""Parse ISO-8601 date/time strings into ``datetime`` objects."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

__all__ = ('parse_iso8601',)

# Accepts what ``datetime.fromisoformat`` rejects on 3.10: a ``Z`` suffix,
# a space separator, offsets without a colon and fractions of any length.
ISO8601_REGEX = re.compile(
    r'(?P<year>[0-9]{4})(-(?P<month>[0-9]{1,2})(-(?P<day>[0-9]{1,2})'
    r'((?P<separator>.)(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})'
    r'(:(?P<second>[0-9]{2})([.,](?P<fraction>[0-9]+))?)?)?'
    r'(?P<timezone>Z|[-+][0-9]{2}(:?[0-9]{2})?)?)?)?$'
)


def _parse_offset(text: str | None) -> timezone | None:
    if text is None:
        return None
    if text == 'Z':
        return timezone.utc
    sign = -1 if text[0] == '-' else 1
    digits = text[1:].replace(':', '')
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_iso8601(datestring: str) -> datetime:
    """Parse an ISO-8601 string (``2024-01-31T10:00:00.5+02:00``) into a datetime."""
    match = ISO8601_REGEX.match(datestring.strip())
    if match is None:
        raise ValueError(f'unable to parse date string {datestring!r}')
    fields = match.groupdict()
    fraction = fields['fraction'] or '0'
    return datetime(
        int(fields['year']), int(fields['month'] or 1), int(fields['day'] or 1),
        int(fields['hour'] or 0), int(fields['minute'] or 0), int(fields['second'] or 0),
        int(fraction[:6].ljust(6, '0')),
        tzinfo=_parse_offset(fields['timezone']),
    )
