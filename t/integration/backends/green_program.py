"""A monkey-patched program where several green threads wait on ``AsyncResult.get()``.

Run as ``python green_program.py <gevent|eventlet> <redis|rpc> <unique>``; it prints
one JSON line describing what every waiter got.  Used by ``test_green_drainers``.
"""
import sys

FRAMEWORK, KIND, UNIQUE = sys.argv[1:4]

if FRAMEWORK == 'gevent':
    from gevent import monkey
    monkey.patch_all()
    import gevent

    def spawn(fun, *args):
        return gevent.spawn(fun, *args)

    def join_all(threads, timeout):
        gevent.joinall(threads, timeout=timeout)

    sleep = gevent.sleep
else:
    import eventlet
    eventlet.monkey_patch()

    def spawn(fun, *args):
        return eventlet.spawn(fun, *args)

    def join_all(threads, timeout):
        with eventlet.Timeout(timeout, False):
            for thread in threads:
                thread.wait()

    sleep = eventlet.sleep

# Imported only now, after the monkey patching, as a real green program does.
import json
import os
import time
from types import SimpleNamespace

from celery import Celery
from t.servers import AMQP_URL, REDIS_BACKEND_URL as REDIS_URL
WAITERS = 4

app = Celery(f'green-{UNIQUE}', set_as_current=False, broker=AMQP_URL,
             backend=REDIS_URL if KIND == 'redis' else 'rpc://')
app.conf.result_backend_transport_options = {'global_keyprefix': f'green{UNIQUE}_'}
app.conf.result_expires = 60

report = {'values': {}, 'drainers': set(), 'errors': [], 'last_done': 0.0, 'stored': 0.0,
          'start': time.monotonic()}
reply_queues = {}
ticks = [0]


def request_for(task_id):
    return SimpleNamespace(reply_to=reply_queues.get(task_id), correlation_id=task_id,
                           group=None, parent_id=None, chord=None, children=[],
                           ignore_result=False)


def waiter(task_id, backend=None):
    """Wait on one result, with this green thread's own backend unless one is shared."""
    try:
        backend = backend or app.backend
        if KIND == 'rpc':
            reply_queues[task_id] = app.thread_oid
            with app.producer_or_acquire() as producer:
                backend.on_task_call(producer, task_id)
        result = app.AsyncResult(task_id, backend=backend)
        report['values'][task_id] = result.get(timeout=15, interval=5)
        report['last_done'] = max(report['last_done'], time.monotonic() - report['start'])
        report['drainers'].add(type(backend.result_consumer.drainer).__name__)
    except Exception as exc:  # noqa: BLE001 - reported to the test
        report['errors'].append(f'{task_id}: {exc!r}')


def writer(task_ids):
    """Store the results in reverse order once every waiter is waiting."""
    while len(reply_queues) < len(task_ids) and KIND == 'rpc':
        sleep(0.02)
    sleep(0.3)
    store = app.backend if KIND == 'rpc' else type(app.backend)(app=app, url=REDIS_URL)
    for task_id in reversed(task_ids):
        store.mark_as_done(task_id, f'value of {task_id}', request=request_for(task_id))
    report['stored'] = time.monotonic() - report['start']


def heartbeat(deadline):
    """Proves the hub keeps running while everybody waits."""
    while time.monotonic() < deadline:
        ticks[0] += 1
        sleep(0.01)


def main():
    own = [f'{UNIQUE}-own-{n}' for n in range(WAITERS)]
    threads = [spawn(waiter, task_id) for task_id in own]
    shared_ids = []
    if KIND == 'redis':
        # Several waiters on one backend: they share one consumer and one drainer.
        shared = type(app.backend)(app=app, url=REDIS_URL)
        shared_ids = [f'{UNIQUE}-shared-{n}' for n in range(WAITERS)]
        threads += [spawn(waiter, task_id, shared) for task_id in shared_ids]
    report['start'] = time.monotonic()
    threads.append(spawn(writer, own + shared_ids))
    beat = spawn(heartbeat, report['start'] + 0.6)
    join_all(threads + [beat], timeout=30)
    report['elapsed'] = time.monotonic() - report['start']
    report['ticks'] = ticks[0]
    report['drainers'] = sorted(report['drainers'])
    print(json.dumps(report))


main()
