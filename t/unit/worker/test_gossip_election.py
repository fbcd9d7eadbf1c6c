"""Gossip elections: every live worker acks, the lowest (clock, node) wins and acts."""
from __future__ import annotations

from heapq import heappush
from types import SimpleNamespace

from kombu.clocks import LamportClock

from celery.worker.consumer.gossip import Gossip


def make_gossip(full_hostname):
    gossip = Gossip.__new__(Gossip)
    gossip.full_hostname = full_hostname
    gossip.clock = LamportClock()
    gossip.consensus_requests = {}
    gossip.consensus_replies = {}
    gossip.state = SimpleNamespace(alive_workers=lambda: [SimpleNamespace(hostname='a'),
                                                         SimpleNamespace(hostname='b')])
    called = []
    gossip.election_handlers = {'task': called.append}
    return gossip, called


def elect(gossip, candidates):
    # Requests arrive through on_elect, which keeps them as a heap.
    heap = []
    for candidate in candidates:
        heappush(heap, candidate)
    gossip.consensus_requests['e1'] = heap
    gossip.consensus_replies['e1'] = ['a']
    gossip.on_elect_ack({'id': 'e1', 'hostname': 'b'})


def test_the_lowest_clock_wins_and_runs_the_action():
    gossip, called = make_gossip('b@h.2')
    elect(gossip, [(1, 'a@h.1', 'task', 'other'), (3, 'b@h.2', 'task', 'mine')])
    assert called == []
    gossip, called = make_gossip('a@h.1')
    elect(gossip, [(1, 'a@h.1', 'task', 'mine'), (3, 'b@h.2', 'task', 'other')])
    assert called == ['mine']


def test_a_clock_tie_goes_to_the_lowest_node_name_with_its_own_action():
    gossip, called = make_gossip('a@h.1')
    elect(gossip, [(2, 'b@h.2', 'task', 'from-b'), (2, 'a@h.1', 'task', 'from-a')])
    assert called == ['from-a']
    assert 'e1' not in gossip.consensus_requests
