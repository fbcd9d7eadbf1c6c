"""Queue declarations: Queues mapping, selection, missing queues, priorities."""
from __future__ import annotations

import pytest
from kombu import Exchange, Queue
from kombu.common import Broadcast

from celery.app.queues import Queues


class TestQueues:

    def test_from_list_of_queues(self):
        queues = Queues([Queue('a', Exchange('a'), 'a'), Queue('b', Exchange('b'), 'b')])
        assert sorted(queues) == ['a', 'b']

    def test_from_old_dict_form_uses_binding_key(self):
        queues = Queues({'old': {'exchange': 'oldx', 'binding_key': 'old.#',
                                 'exchange_type': 'topic'}})
        assert queues['old'].routing_key == 'old.#'
        assert queues['old'].exchange.name == 'oldx'
        assert queues['old'].exchange.type == 'topic'

    def test_old_dict_form_routing_key_defaults_to_name(self):
        queues = Queues({'plain': {'exchange': 'px'}})
        assert queues['plain'].routing_key == 'plain'

    def test_missing_queue_created_on_lookup(self):
        queues = Queues(create_missing=True)
        queue = queues['fresh']
        assert (queue.name, queue.exchange.name, queue.exchange.type, queue.routing_key) == \
            ('fresh', 'fresh', 'direct', 'fresh')
        assert 'fresh' in queues

    def test_missing_queue_raises_key_error_when_disabled(self):
        with pytest.raises(KeyError):
            Queues(create_missing=False)['fresh']

    def test_missing_queue_type_and_exchange_type(self):
        queues = Queues(create_missing_queue_type='quorum',
                        create_missing_queue_exchange_type='topic')
        queue = queues['qq']
        assert queue.queue_arguments == {'x-queue-type': 'quorum'}
        assert queue.exchange.type == 'topic'

    def test_max_priority_added_to_every_queue(self):
        queues = Queues([Queue('a')], default_exchange=Exchange('d'), max_priority=10)
        assert queues['a'].queue_arguments == {'x-max-priority': 10}
        assert queues['new'].queue_arguments == {'x-max-priority': 10}

    def test_max_priority_does_not_override_explicit(self):
        queue = Queue('a', queue_arguments={'x-max-priority': 3})
        assert Queues([queue], max_priority=10)['a'].queue_arguments['x-max-priority'] == 3

    def test_max_priority_skipped_for_quorum(self):
        queue = Queue('a', queue_arguments={'x-queue-type': 'quorum'})
        assert 'x-max-priority' not in Queues([queue], max_priority=10)['a'].queue_arguments

    def test_default_exchange_and_routing_key_filled_in(self):
        queues = Queues([Queue('bare')], default_exchange=Exchange('dx', 'topic'),
                        default_routing_key='default.key')
        assert queues['bare'].exchange.name == 'dx'
        assert queues['bare'].routing_key == 'default.key'

    def test_alias_lookup(self):
        bcast = Broadcast('bcast-name', queue='bcast.queue')
        queues = Queues([bcast])
        assert queues['bcast-name'] is bcast

    def test_select_and_consume_from(self):
        queues = Queues([Queue('a'), Queue('b'), Queue('c')])
        assert set(queues.consume_from) == {'a', 'b', 'c'}
        queues.select(['a', 'b'])
        assert set(queues.consume_from) == {'a', 'b'}

    def test_select_comma_string(self):
        queues = Queues([Queue('a'), Queue('b')])
        queues.select('a, b')
        assert set(queues.consume_from) == {'a', 'b'}

    def test_deselect_from_all(self):
        queues = Queues([Queue('a'), Queue('b')])
        queues.deselect(['a'])
        assert set(queues.consume_from) == {'b'}
        assert 'a' in queues

    def test_deselect_from_selection(self):
        queues = Queues([Queue('a'), Queue('b'), Queue('c')])
        queues.select(['a', 'b'])
        queues.deselect('b')
        assert set(queues.consume_from) == {'a'}

    def test_select_add(self):
        queues = Queues([Queue('a'), Queue('b')])
        queues.select(['a'])
        queues.select_add(Queue('w.dq2', Exchange('C.dq2'), 'w'))
        assert set(queues.consume_from) == {'a', 'w.dq2'}

    def test_format(self):
        queues = Queues([Queue('a', Exchange('ax', 'topic'), 'a.#')])
        assert queues.format() == '.> a                exchange=ax(topic) key=a.#'
        queues.add(Queue('b', Exchange('b'), 'b'))
        lines = queues.format(indent=4, indent_first=False).splitlines()
        assert lines[0].startswith('.> a') and lines[1].startswith('    .> b')

    def test_format_empty(self):
        queues = Queues([Queue('a')])
        queues.select(['a'])
        queues.deselect(['a'])
        assert queues.format() == ''
