"""Building task messages: protocol 2 headers/properties/body and protocol 1 bodies."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from celery.app.amqp import fast_saferepr, normalize_delivery_mode, task_message
from celery.exceptions import ImproperlyConfigured

NOW = datetime(2024, 5, 17, 12, 0, 0, tzinfo=timezone.utc)

V2_HEADER_NAMES = {
    'lang', 'task', 'id', 'shadow', 'eta', 'expires', 'group', 'group_index',
    'retries', 'timelimit', 'root_id', 'parent_id', 'argsrepr', 'kwargsrepr',
    'origin', 'ignore_result', 'replaced_task_nesting', 'stamped_headers', 'stamps',
}


def v2(app, **kwargs):
    kwargs.setdefault('now', NOW)
    return app.amqp.as_task_v2('id-1', 'proj.add', **kwargs)


class TestAsTaskV2:

    def test_plain_message(self, app):
        message = v2(app, args=(2, 3), kwargs={'z': 1}, reply_to='replyq')
        assert isinstance(message, task_message)
        headers, properties, body, sent_event = message
        assert set(headers) == V2_HEADER_NAMES
        assert headers['lang'] == 'py'
        assert headers['task'] == 'proj.add'
        assert headers['id'] == 'id-1'
        assert headers['root_id'] == 'id-1'
        assert headers['parent_id'] is None
        assert headers['shadow'] is None
        assert headers['eta'] is None and headers['expires'] is None
        assert headers['group'] is None and headers['group_index'] is None
        assert headers['retries'] == 0
        assert headers['timelimit'] == [None, None]
        assert headers['argsrepr'] == '(2, 3)'
        assert headers['kwargsrepr'] == "{'z': 1}"
        assert headers['origin'].startswith('gen')
        assert '@' in headers['origin']
        assert headers['ignore_result'] is False
        assert headers['replaced_task_nesting'] == 0
        assert headers['stamped_headers'] is None and headers['stamps'] == {}
        assert properties == {'correlation_id': 'id-1', 'reply_to': 'replyq'}
        assert body == ((2, 3), {'z': 1},
                        {'callbacks': None, 'errbacks': None, 'chain': None, 'chord': None})
        assert sent_event is None

    def test_reply_to_defaults_to_empty_string(self, app):
        assert v2(app).properties['reply_to'] == ''

    def test_no_args_become_empty(self, app):
        assert v2(app).body[:2] == ((), {})

    def test_workflow_fields(self, app):
        callbacks = [{'task': 'cb'}]
        errbacks = [{'task': 'eb'}]
        chain = [{'task': 'c2'}, {'task': 'c1'}]
        chord = {'task': 'body'}
        headers, _, body, _ = v2(
            app, group_id='g', group_index=4, retries=2, chord=chord, callbacks=callbacks,
            errbacks=errbacks, chain=chain, root_id='root', parent_id='parent',
            shadow='shadowed', time_limit=30, soft_time_limit=20, origin='me@host',
            ignore_result=True, replaced_task_nesting=2)
        assert headers['group'] == 'g' and headers['group_index'] == 4
        assert headers['retries'] == 2
        assert headers['root_id'] == 'root' and headers['parent_id'] == 'parent'
        assert headers['shadow'] == 'shadowed'
        assert headers['timelimit'] == [30, 20]
        assert headers['origin'] == 'me@host'
        assert headers['ignore_result'] is True
        assert headers['replaced_task_nesting'] == 2
        assert body[2] == {'callbacks': callbacks, 'errbacks': errbacks,
                           'chain': chain, 'chord': chord}

    def test_countdown_sets_aware_utc_eta(self, app):
        headers = v2(app, countdown=10).headers
        assert headers['eta'] == '2024-05-17T12:00:10+00:00'

    def test_countdown_uses_app_clock(self, app):
        message = app.amqp.as_task_v2('id', 'x', countdown=60)
        eta = datetime.fromisoformat(message.headers['eta'])
        assert eta.utcoffset() == timedelta(0)
        assert abs((eta - datetime.now(timezone.utc)).total_seconds() - 60) < 5

    def test_countdown_in_app_timezone_without_utc(self, app):
        app.conf.enable_utc = False
        app.conf.timezone = 'Europe/Berlin'
        message = app.amqp.as_task_v2('id', 'x', countdown=60)
        eta = datetime.fromisoformat(message.headers['eta'])
        assert eta.utcoffset() in (timedelta(hours=1), timedelta(hours=2))

    def test_eta_datetime(self, app):
        eta = datetime(2030, 1, 1, 8, 30, tzinfo=timezone.utc)
        assert v2(app, eta=eta).headers['eta'] == '2030-01-01T08:30:00+00:00'

    def test_naive_eta_is_made_aware_in_app_timezone(self, app):
        assert v2(app, eta=datetime(2030, 1, 1)).headers['eta'] == '2030-01-01T00:00:00+00:00'

    def test_eta_string_passed_through(self, app):
        assert v2(app, eta='2030-01-01T00:00:00+00:00').headers['eta'] == \
            '2030-01-01T00:00:00+00:00'

    def test_expires_seconds(self, app):
        headers, properties, _, _ = v2(app, expires=30)
        assert headers['expires'] == '2024-05-17T12:00:30+00:00'
        assert properties['expiration'] == 30

    def test_expires_datetime(self, app):
        expires = NOW + timedelta(minutes=2)
        headers, properties, _, _ = v2(app, expires=expires)
        assert headers['expires'] == '2024-05-17T12:02:00+00:00'
        assert properties['expiration'] == 120

    def test_expires_iso_string(self, app):
        headers, properties, _, _ = v2(app, expires='2024-05-17T12:00:05+00:00')
        assert headers['expires'] == '2024-05-17T12:00:05+00:00'
        assert properties['expiration'] == 5

    def test_expires_in_the_past_clamps_expiration(self, app):
        headers, properties, _, _ = v2(app, expires=NOW - timedelta(seconds=9))
        assert headers['expires'] == '2024-05-17T11:59:51+00:00'
        assert properties['expiration'] == 0

    def test_expires_non_utc_timezone(self, app):
        berlin = ZoneInfo('Europe/Berlin')
        expires = datetime(2024, 5, 17, 14, 0, 10, tzinfo=berlin)
        headers, properties, _, _ = v2(app, expires=expires)
        assert headers['expires'] == '2024-05-17T14:00:10+02:00'
        assert properties['expiration'] == 10

    def test_countdown_out_of_range(self, app):
        with pytest.raises(ValueError, match='countdown'):
            v2(app, countdown=-2 ** 40)

    def test_args_must_be_sequence(self, app):
        with pytest.raises(TypeError, match='list or tuple'):
            v2(app, args='abc')

    def test_kwargs_must_be_mapping(self, app):
        with pytest.raises(TypeError, match='mapping'):
            v2(app, kwargs=[1])

    def test_reprs_given_are_kept(self, app):
        headers = v2(app, args=(1,), argsrepr='<secret>', kwargsrepr='{}').headers
        assert (headers['argsrepr'], headers['kwargsrepr']) == ('<secret>', '{}')

    def test_long_args_repr_is_truncated(self, app):
        headers = v2(app, args=('x' * 5000,), kwargs={'k': list(range(3000))}).headers
        assert len(headers['argsrepr']) <= app.amqp.argsrepr_maxsize + 8
        assert len(headers['kwargsrepr']) <= app.amqp.kwargsrepr_maxsize + 8

    def test_stamps(self, app):
        headers = v2(app, stamped_headers=['color'], color='blue').headers
        assert headers['stamped_headers'] == ['color']
        assert headers['stamps'] == {'color': 'blue'}

    def test_sent_event(self, app):
        event = v2(app, args=(1,), kwargs={}, countdown=1, create_sent_event=True,
                   parent_id='p', retries=1).sent_event
        assert event == {
            'uuid': 'id-1', 'root_id': 'id-1', 'parent_id': 'p', 'name': 'proj.add',
            'args': '(1,)', 'kwargs': '{}', 'retries': 1,
            'eta': '2024-05-17T12:00:01+00:00', 'expires': None,
        }

    def test_unknown_options_ignored(self, app):
        assert v2(app, queue='q', routing_key='rk').headers['task'] == 'proj.add'


class TestAsTaskV1:

    def test_body(self, app):
        message = app.amqp.as_task_v1(
            'id-1', 'proj.add', args=[1], kwargs={'a': 2}, countdown=5, expires=10,
            group_id='g', group_index=1, retries=3, chord={'task': 'c'},
            callbacks=['cb'], errbacks=['eb'], reply_to='r', time_limit=9,
            soft_time_limit=8, now=NOW)
        headers, properties, body, sent_event = message
        assert headers == {}
        assert properties == {'correlation_id': 'id-1', 'reply_to': 'r', 'expiration': 10}
        assert body == {
            'task': 'proj.add', 'id': 'id-1', 'args': [1], 'kwargs': {'a': 2},
            'group': 'g', 'group_index': 1, 'retries': 3,
            'eta': '2024-05-17T12:00:05+00:00', 'expires': '2024-05-17T12:00:10+00:00',
            'utc': True, 'callbacks': ['cb'], 'errbacks': ['eb'], 'timelimit': (9, 8),
            'taskset': 'g', 'chord': {'task': 'c'},
        }
        assert sent_event is None

    def test_protocol_setting_selects_builder(self, app):
        app.conf.task_protocol = 1
        message = app.amqp.create_task_message('id', 'x', (), {})
        assert message.headers == {} and message.body['task'] == 'x'

    def test_protocol_2_is_default(self, app):
        assert app.amqp.create_task_message('id', 'x', (), {}).headers['task'] == 'x'

    def test_unknown_protocol(self, app):
        app.conf.task_protocol = 7
        with pytest.raises(ImproperlyConfigured, match='task_protocol'):
            app.amqp.create_task_message


class TestHelpers:

    @pytest.mark.parametrize('value', [
        (1, 2.5, 'x', None, True), [1, 'a'], {'a': 1, 'b': 'c'}, (), {},
        ('é✓', "it's", 10 ** 40), ('x' * 2000,), {'k': 'v' * 1100},
    ])
    def test_fast_saferepr_matches_saferepr(self, value):
        from celery.utils.saferepr import saferepr
        assert fast_saferepr(value, 1024) == saferepr(value, 1024)

    def test_fast_saferepr_falls_back_for_nested(self):
        from celery.utils.saferepr import saferepr
        value = ([1, 2], {'a': b'x'})
        assert fast_saferepr(value, 1024) == saferepr(value, 1024)

    @pytest.mark.parametrize('value,expected', [
        (2, 2), (1, 1), ('2', 2), ('persistent', 2), ('transient', 1),
        ('PERSISTENT', 2), (None, None),
    ])
    def test_normalize_delivery_mode(self, value, expected):
        assert normalize_delivery_mode(value) == expected

    def test_normalize_delivery_mode_rejects_unknown(self):
        with pytest.raises(ImproperlyConfigured, match='delivery mode'):
            normalize_delivery_mode('forever')
