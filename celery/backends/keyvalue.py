"""Base class of backends that store meta under keys (SURFACE 7.6 layout)."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from kombu.utils.encoding import bytes_to_str

from celery import states
from celery.backends.base import Backend, BaseBackend
from celery.exceptions import BackendStoreError, ChordError, TimeoutError
from celery.utils.log import get_logger

if TYPE_CHECKING:
    from celery.backends._types import BackendRequest, Payload
    from celery.canvas import Signature
    from celery.result import GroupResult

__all__ = ('BaseKeyValueStoreBackend', 'KeyValueStoreBackend')

logger = get_logger(__name__)

KEY_SEPARATORS = (':', '_', '-', '.')


class BaseKeyValueStoreBackend(Backend):
    """Stores each task's meta under ``celery-task-meta-<id>``."""

    key_t: Callable[[str], bytes] = staticmethod(lambda s: s.encode('utf-8'))
    # Text on the class, encoded with the global key prefix by __init__.
    task_keyprefix: str | bytes = 'celery-task-meta-'
    group_keyprefix: str | bytes = 'celery-taskset-meta-'
    chord_keyprefix: str | bytes = 'chord-unlock-'
    implements_incr = False
    supports_result_compression = True
    #: Type of the time to live the store takes (stores that refuse fractions: ``int``).
    ttl_type: type | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._transport_options = dict(self.app.conf.result_backend_transport_options or {})
        self._encode_prefixes()
        if self.implements_incr:
            self.apply_chord = self._apply_chord_incr  # type: ignore[method-assign]

    def _encode_prefixes(self) -> None:
        prefix = self._transport_options.get('global_keyprefix') or ''
        if prefix and not prefix.endswith(KEY_SEPARATORS):
            prefix += '_'
        cls = type(self)
        self.task_keyprefix = self._prefixed(prefix, cls.task_keyprefix)
        self.group_keyprefix = self._prefixed(prefix, cls.group_keyprefix)
        self.chord_keyprefix = self._prefixed(prefix, cls.chord_keyprefix)

    def _prefixed(self, prefix: str, key: str | bytes) -> bytes:
        if isinstance(key, str):
            return self.key_t(prefix + key)
        return self.key_t(prefix) + key if prefix else key

    # -- time to live -----------------------------------------------------

    @cached_property
    def failure_expires(self) -> float | None:
        """Seconds a FAILURE result is kept: ``result_failure_expires``, else ``result_expires``."""
        return self._expiry_or_default(self.app.conf.result_failure_expires)

    @cached_property
    def chord_expires(self) -> float | None:
        """Seconds chord keys are kept: ``result_chord_expires``, else ``result_expires``."""
        return self._expiry_or_default(self.app.conf.result_chord_expires)

    def _expiry_or_default(self, value: float | timedelta | None) -> float | None:
        if value is None:
            return self.expires
        return self.prepare_expires(value, self.ttl_type or type(self.expires or 0.0))

    def expires_for_state(self, state: str) -> float | None:
        """The time to live of a result stored in ``state``."""
        return self.failure_expires if state == states.FAILURE else self.expires

    def _set_with_ttl_of_state(self, key: bytes, value: Payload, state: str) -> object:
        # For stores whose set() takes a TTL; the common case calls set(key, value).
        if state == states.FAILURE and self.failure_expires != self.expires:
            return self.set(key, value, self.failure_expires)  # type: ignore[call-arg]
        return self.set(key, value)

    # -- storage primitives (backend specific) ---------------------------

    def get(self, key: bytes) -> Payload | None:
        """Return the value stored at ``key`` (``None`` when missing)."""
        raise NotImplementedError('Must implement the get method.')

    def mget(self, keys: list[bytes]) -> list[Payload | None]:
        """Return the values stored at ``keys`` (``None`` where missing)."""
        raise NotImplementedError('Does not support get_many')

    def _set_with_state(self, key: bytes, value: Payload, state: str) -> object:
        return self.set(key, value)

    def set(self, key: bytes, value: Payload) -> object:
        """Store ``value`` at ``key`` (with expiry when configured)."""
        raise NotImplementedError('Must implement the set method.')

    def delete(self, key: bytes) -> object:
        """Remove ``key``."""
        raise NotImplementedError('Must implement the delete method')

    def incr(self, key: bytes) -> int:
        """Atomically increment the counter at ``key``."""
        raise NotImplementedError('Does not implement incr')

    def expire(self, key: bytes, value: float | None) -> object:
        """Set a time to live on ``key`` (no-op where unsupported)."""

    # -- keys -------------------------------------------------------------

    def get_key_for_task(self, task_id: str, key: str = '') -> bytes:
        """Key of a task's meta."""
        return self._prefixed('', self.task_keyprefix) + self.key_t(task_id + key)

    def get_key_for_group(self, group_id: str, key: str = '') -> bytes:
        """Key of a group's meta."""
        return self._prefixed('', self.group_keyprefix) + self.key_t(group_id + key)

    def get_key_for_chord(self, group_id: str, key: str = '') -> bytes:
        """Key of a chord's ``chord-unlock`` counter."""
        return self._prefixed('', self.chord_keyprefix) + self.key_t(group_id + key)

    # -- tasks ------------------------------------------------------------

    def _store_result(self, task_id: str, result: object, state: str,
                      traceback: str | None = None, request: BackendRequest | None = None,
                      **kwargs: Any) -> object:
        meta = self._get_result_meta(result=result, state=state, traceback=traceback,
                                     request=request)
        meta['task_id'] = bytes_to_str(task_id)
        # A SUCCESS is final: a duplicate delivery must not overwrite it.
        if self._get_task_meta_for(task_id)['status'] == states.SUCCESS:
            return result
        try:
            self._set_with_state(self.get_key_for_task(task_id), self.encode_meta(meta), state)
        except BackendStoreError as exc:
            raise BackendStoreError(str(exc), state=state, task_id=task_id) from exc
        return result

    def _get_task_meta_for(self, task_id: str) -> dict[str, Any]:
        meta = self.get(self.get_key_for_task(task_id))
        if not meta:
            return {'status': states.PENDING, 'result': None}
        return self.decode_result(meta)

    def _forget(self, task_id: str) -> None:
        self.delete(self.get_key_for_task(task_id))

    def _mget_to_results(self, values: list[Payload | None], keys: list[str],
                         ready_states: Iterable[str]) -> dict[str, Any]:
        results = {}
        for key, value in zip(keys, values):
            if value:
                meta = self.decode_result(value)
                if meta['status'] in ready_states:
                    results[key] = meta
        return results

    def get_many(self, task_ids: Iterable[str], timeout: float | None = None,
                 interval: float = 0.5, no_ack: bool = True,
                 on_message: Callable[..., Any] | None = None,
                 on_interval: Callable[[], Any] | None = None,
                 max_iterations: int | None = None,
                 READY_STATES: frozenset[str] = states.READY_STATES,
                 **kwargs: Any) -> Iterator[tuple[str, Any]]:
        """Yield ``(id, meta)`` as the tasks finish, fetching all pending keys per round."""
        interval = 0.5 if interval is None else interval
        ids = set(task_ids)
        for task_id in list(ids):
            cached = self._cache.get(task_id)
            if cached is not None and cached['status'] in READY_STATES:
                ids.discard(task_id)
                yield bytes_to_str(task_id), cached
        deadline = None if timeout is None else time.monotonic() + timeout
        iterations = 0
        while ids:
            keys = list(ids)
            found = self._mget_to_results(self.mget([self.get_key_for_task(k) for k in keys]),
                                          keys, READY_STATES)
            self._cache.update(found)
            ids.difference_update(found)
            for task_id, meta in found.items():
                if on_message is not None:
                    on_message(meta)
                yield bytes_to_str(task_id), meta
            iterations += 1
            if not ids or (max_iterations and iterations >= max_iterations):
                break
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f'Operation timed out ({timeout})')
            if on_interval:
                on_interval()
            time.sleep(interval)

    # -- groups -----------------------------------------------------------

    def _save_group(self, group_id: str, result: GroupResult) -> object:
        self._set_with_state(self.get_key_for_group(group_id),
                             self.encode_meta({'result': result.as_tuple()}), states.SUCCESS)
        return result

    def _delete_group(self, group_id: str) -> None:
        self.delete(self.get_key_for_group(group_id))

    def _restore_group(self, group_id: str) -> dict[str, Any] | None:
        meta = self.get(self.get_key_for_group(group_id))
        if not meta:
            return None
        from celery.result import result_from_tuple
        decoded: dict[str, Any] = self.decode(meta)
        decoded['result'] = result_from_tuple(decoded['result'], self.app)
        return decoded

    # -- chords via the chord-unlock-<gid> counter ------------------------

    def _apply_chord_incr(self, header_result_args: tuple[Any, ...], body: Signature,
                          **kwargs: Any) -> GroupResult:
        self.ensure_chords_allowed()
        header_result: GroupResult = self.app.GroupResult(*header_result_args)
        header_result.save(backend=self)
        return header_result

    def on_chord_part_return(self, request: BackendRequest, state: str, result: object,
                             **kwargs: Any) -> None:
        """Count finished header tasks; the last one joins them and calls the body."""
        if not self.implements_incr:
            return
        gid = getattr(request, 'group', None)
        if not gid:
            return
        from celery.canvas import maybe_signature
        from celery.result import GroupResult
        callback = maybe_signature(request.chord, app=self.app)
        if callback is None:
            return  # not a chord header task after all
        key = self.get_key_for_chord(gid)
        try:
            deps = GroupResult.restore(gid, backend=self, app=self.app)
        except Exception as exc:
            logger.exception('Chord %r raised', gid)
            self.chord_error_from_stack(callback, ChordError(f'Cannot restore group: {exc!r}'))
            return
        if deps is None:
            logger.error('Chord callback %r: GroupResult %s no longer exists', gid, gid)
            self.chord_error_from_stack(callback, ChordError(f'GroupResult {gid} no longer exists'))
            return
        val = self.incr(key)
        size = (request.chord or {}).get('chord_size')
        if size is None:
            size = len(deps)
        if val > size:
            logger.warning('Chord counter incremented too many times for %r', gid)
        elif val == size:
            self._join_and_call_body(gid, deps, callback, key)
        else:
            self.expire(key, self.chord_expires)

    def _join_and_call_body(self, gid: str, deps: GroupResult, callback: Signature,
                            key: bytes) -> None:
        try:
            self.finish_chord(gid, deps, callback)
        finally:
            deps.delete()
            self.delete(key)


class KeyValueStoreBackend(BaseKeyValueStoreBackend, BaseBackend):
    """Polling key/value store backend."""
