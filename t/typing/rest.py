"""Result backends, beat entries and the test helpers keep the types plugins rely on."""
from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from celery import Celery
from celery.backends.base import BaseBackend
from celery.backends.keyvalue import KeyValueStoreBackend
from celery.beat import BeatLazyFunc
from celery.concurrency import get_implementation
from celery.contrib.migrate import expand_dest
from celery.events.state import State
from celery.result import AsyncResult

app = Celery('typing')


class DictBackend(KeyValueStoreBackend):
    """A plugin's key/value backend: the storage primitives it implements."""

    store: ClassVar[dict[bytes, str | bytes]] = {}

    def get(self, key: bytes) -> str | bytes | None:
        return self.store.get(key)

    def set(self, key: bytes, value: str | bytes) -> None:
        self.store[key] = value

    def delete(self, key: bytes) -> None:
        self.store.pop(key, None)


backend = DictBackend(app)
reveal_type(backend.get_task_meta('id'))  # N: Revealed type is "dict[str, Any]"
reveal_type(backend.get_state('id'))  # N: Revealed type is "str"
reveal_type(backend.encode({'a': 1}))  # N: Revealed type is "str | bytes"
reveal_type(backend.prepare_expires(timedelta(hours=1)))  # N: Revealed type is "float | None"
reveal_type(backend.restore_group('gid'))  # N: Revealed type is "celery.result.result_set.GroupResult | None"
backend.mark_as_done('id', 42, request=None)
backend.store_result('id', {'x': 1}, 'SUCCESS', request='not a request')  # E: Argument "request" to "store_result" of "Backend" has incompatible type "str"; expected "Context | None"


def wait(polling: BaseBackend, result: AsyncResult[int]) -> None:
    # The value, or the exception when propagate=False: the result types it.
    reveal_type(polling.wait_for_pending(result))  # N: Revealed type is "object"


reveal_type(BeatLazyFunc(lambda: 3)())  # N: Revealed type is "int"
reveal_type(get_implementation('solo'))  # N: Revealed type is "type[celery.concurrency.base.BasePool]"
reveal_type(expand_dest(('ex', 'rk'), None, None))  # N: Revealed type is "tuple[str | None, str | None]"
reveal_type(State().freeze_while(len, [1, 2]))  # N: Revealed type is "int"
