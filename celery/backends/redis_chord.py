"""Native chord join for the redis backend (keys ``.j``, ``.t`` and ``.s``, SURFACE 7.6)."""
from __future__ import annotations

from typing import Any

from celery import states
from celery.exceptions import ChordError
from celery.utils.log import get_logger

__all__ = ('RedisChordMixin',)

logger = get_logger(__name__)


class RedisChordMixin:
    """Each header task adds its result to a sorted set; the last one calls the body."""

    def _chord_keys(self, group_id: str) -> tuple[bytes, bytes, bytes]:
        return (self.get_key_for_group(group_id, '.j'),
                self.get_key_for_group(group_id, '.t'),
                self.get_key_for_group(group_id, '.s'))

    def set_chord_size(self, group_id: str, chord_size: int) -> None:
        """Record how many header tasks the chord waits for."""
        self.set(self.get_key_for_group(group_id, '.s'), chord_size, self.chord_expires)

    def add_to_chord(self, group_id: str, result: Any) -> None:
        """One more task joins the header (``Task.add_to_chord``/``replace``)."""
        self.client.incr(self.get_key_for_group(group_id, '.t'), 1)

    def apply_chord(self, header_result_args: tuple[Any, ...], body: Any, **kwargs: Any) -> Any:
        """Save the header only when it nests groups (their structure must survive)."""
        from celery.result import GroupResult
        header_result = self.app.GroupResult(*header_result_args)
        if any(isinstance(node, GroupResult) for node in header_result.results):
            header_result.save(backend=self)
        return header_result

    def _unpack_chord_result(self, encoded: bytes) -> Any:
        _, tid, state, retval = self.decode(encoded)
        if state in states.EXCEPTION_STATES:
            retval = self.exception_to_python(retval)
        if state in states.PROPAGATE_STATES:
            raise ChordError(f'Dependency {tid} raised {retval!r}')
        return retval

    def _record_part(self, request: Any, state: str, result: Any) -> tuple[int, int, Any]:
        jkey, tkey, skey = self._chord_keys(request.group)
        group_index = getattr(request, 'group_index', None)
        encoded = self.encode([1, request.id, state, self.encode_result(result, state)])
        with self.client.pipeline() as pipe:
            if self._chord_zset:
                score = '+inf' if group_index is None else group_index
                pipe.zadd(jkey, {encoded: score}).zcount(jkey, '-inf', '+inf')
            else:
                pipe.rpush(jkey, encoded).llen(jkey)
            pipe.get(tkey).get(skey)
            ttl = self.chord_expires
            if ttl:
                pipe.expire(jkey, ttl).expire(tkey, ttl).expire(skey, ttl)
            _, readycount, totaldiff, chord_size = pipe.execute()[:4]
        return readycount, int(totaldiff or 0), chord_size

    def on_chord_part_return(self, request: Any, state: str, result: Any,
                             propagate: Any = None, **kwargs: Any) -> None:
        """Add this header task's result; the last one decodes them all and calls the body."""
        gid, tid = getattr(request, 'group', None), getattr(request, 'id', None)
        if not gid or not tid:
            return
        from celery.canvas import maybe_signature
        readycount, totaldiff, chord_size = self._record_part(request, state, result)
        if not chord_size:
            return
        callback = maybe_signature(request.chord, app=self.app)
        total = int(chord_size) + totaldiff
        if readycount != total:
            return
        try:
            values = self._collect_chord_results(gid, total)
        except ChordError as exc:
            logger.error('Chord %r raised: %r', gid, exc)
            self.chord_error_from_stack(callback, exc)
            return
        except Exception as exc:
            logger.exception('Chord %r raised', gid)
            self.chord_error_from_stack(callback, ChordError(f'Join error: {exc!r}'))
            return
        try:
            self.call_chord_body(gid, callback, values)
        finally:
            self.client.delete(*self._chord_keys(gid))

    def _collect_chord_results(self, gid: str, total: int) -> list[Any]:
        from celery.result import GroupResult, allow_join_result
        header_result = GroupResult.restore(gid, backend=self, app=self.app)
        if header_result is not None:
            # Saved by apply_chord because the header nests groups.
            join = (header_result.join_native if header_result.supports_native_join
                    else header_result.join)
            with allow_join_result():
                return join(timeout=self.app.conf.result_chord_join_timeout, propagate=True)
        jkey = self.get_key_for_group(gid, '.j')
        raw = (self.client.zrange(jkey, 0, -1) if self._chord_zset
               else self.client.lrange(jkey, 0, total))
        return [self._unpack_chord_result(item) for item in raw]
