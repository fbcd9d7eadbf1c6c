"""load_body: JSON bodies decode as kombu decodes them; the rest goes to kombu."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from uuid import UUID

import pytest
from kombu.exceptions import ContentDisallowed
from kombu.serialization import dumps, loads, registry

from celery.app.body import load_body


@pytest.mark.parametrize('value', [
    [[1, 'é', None], {'when': datetime(2024, 1, 2, tzinfo=timezone.utc),
                      'id': UUID(int=7), 'n': Decimal('1.5')}, {'callbacks': None}],
    {'nested': [{'a': [1.5, True]}]},
])
def test_json_decodes_like_kombu(value):
    content_type, encoding, data = dumps(value, serializer='json')
    expected = loads(data, content_type, encoding, accept={'application/json'})
    assert load_body(data, content_type, encoding, {'application/json'}) == expected
    assert load_body(data.encode(), content_type, encoding) == expected
    assert load_body(memoryview(data.encode()), content_type, encoding) == expected


def test_json_not_accepted_is_refused():
    with pytest.raises(ContentDisallowed):
        load_body('[]', 'application/json', 'utf-8', {'application/x-yaml'})


def test_other_content_types_go_to_kombu():
    content_type, encoding, data = dumps({'a': 1}, serializer='pickle')
    assert load_body(data, content_type, encoding, {'application/x-python-serialize'}) == {'a': 1}


def test_a_json_decoder_registered_by_the_user_is_used():
    registry.register('json', lambda v: 'x', lambda s: 'custom', 'application/json', 'utf-8')
    try:
        assert load_body('[]', 'application/json', 'utf-8', {'application/json'}) == 'custom'
    finally:
        from kombu.serialization import register_json
        register_json()
