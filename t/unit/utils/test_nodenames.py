"""Node names and %-expansion."""
from __future__ import annotations

import os

import pytest

from celery.utils.nodenames import (
    NODENAME_DEFAULT,
    anon_nodename,
    default_nodename,
    gethostname,
    host_format,
    node_format,
    nodename,
    nodesplit,
    worker_direct,
)


def test_nodename_and_nodesplit():
    assert nodename('w1', 'box') == 'w1@box'
    assert nodesplit('w1@box@x') == ('w1', 'box@x')
    assert nodesplit('box') == (None, 'box')


def test_default_nodename_fills_in_missing_parts():
    assert default_nodename('w1@box') == 'w1@box'
    assert default_nodename('box') == f'{NODENAME_DEFAULT}@box'
    assert default_nodename(None) == f'{NODENAME_DEFAULT}@{gethostname()}'


def test_anon_nodename():
    assert anon_nodename('box') == f'gen{os.getpid()}@box'


def test_host_format_keys():
    fmt = host_format('%h %n %d %p %%h', host='box.example.com', name='w1')
    assert fmt == 'box.example.com w1 example.com w1@box.example.com %h'


def test_host_format_defaults_name_to_short_host():
    assert host_format('%n', host='box.example.com') == 'box'


def test_host_format_process_index_in_main_process():
    assert host_format('w%i|%I|', host='box') == 'w0||'


def test_host_format_extra_keys_and_unknown_key():
    assert host_format('%x', host='box', x='extra') == 'extra'
    with pytest.raises(ValueError, match='Unknown format %q'):
        host_format('%q', host='box')


def test_node_format():
    assert node_format('%n.log', 'w1@box') == 'w1.log'
    assert node_format('%h', 'w1@box') == 'box'


def test_worker_direct_queue():
    queue = worker_direct('w1@box')
    assert queue.name == 'w1@box.dq2'
    assert queue.exchange.name == 'C.dq2'
    assert queue.routing_key == 'w1@box'
    assert worker_direct(queue) is queue
