"""The pool child's body decoding: a malformed body is an InvalidTaskError, never a success."""
from __future__ import annotations

import json

import pytest
from kombu.serialization import loads, prepare_accept_content

from celery.app.body import load_body
from celery.app.trace import _load_body
from celery.exceptions import InvalidTaskError

ACCEPT = prepare_accept_content(['json'])

#: kombu's decoder, and the pool child's (JSON without per-call set-up).
LOADERS = [loads, load_body]


@pytest.fixture(params=LOADERS, ids=['kombu', 'load_body'])
def loader(request):
    return request.param


def _load(body, loader):
    return _load_body(loader, json.dumps(body), 'application/json', 'utf-8', ACCEPT)


def test_protocol2_body_is_decoded(loader):
    assert _load([[1, 2], {'a': 1}, {'callbacks': None}], loader) == (
        [1, 2], {'a': 1}, {'callbacks': None})


def test_already_decoded_body_passes_through():
    assert _load_body(loads, ((1,), {}, None), None, None, None) == ((1,), {}, None)


@pytest.mark.parametrize('body', [
    [[1, 2], [1], {}],          # kwargs not a mapping
    [{'x': 1}, {}, {}],         # args not a list
    [[1], {}, 'embed'],         # embed not a mapping
    [[1], {}],                  # too short
    {'args': [1]},              # not a list at all
])
def test_malformed_body_is_invalid(body, loader):
    with pytest.raises(InvalidTaskError):
        _load(body, loader)


def test_undecodable_body_is_invalid(loader):
    with pytest.raises(InvalidTaskError, match='Cannot decode'):
        _load_body(loader, '[[1, 2', 'application/json', 'utf-8', ACCEPT)


def test_content_type_not_accepted_is_invalid(loader):
    with pytest.raises(InvalidTaskError):
        _load_body(loader, b'x', 'application/x-python-serialize', 'binary', ACCEPT)


def test_json_not_accepted_is_invalid(loader):
    accept = prepare_accept_content(['yaml'])
    with pytest.raises(InvalidTaskError):
        _load_body(loader, '[[], {}, {}]', 'application/json', 'utf-8', accept)
