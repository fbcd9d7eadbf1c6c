"""Native chord join for the redis backend (keys ``.j``, ``.t`` and ``.s``, SURFACE 7.6).

Chords we send also write a marker key (``.m``) next to the size.  Celery's
own clients don't, so its absence means "behave exactly as Celery does".
Its presence lets a header task that finds no size tell "the chord's keys
expired" (fail the body) from "the size isn't recorded yet" (wait).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from celery import states
from celery.exceptions import ChordError
from celery.utils.log import get_logger

if TYPE_CHECKING:
    from celery.backends._types import BackendRequest
    from celery.canvas import Signature
    from celery.result import AsyncResult, GroupResult

__all__ = ('RedisChordMixin',)

logger = get_logger(__name__)

#: How much longer (seconds) the marker outlives the size key it is written
#: with: a header task finishing later than this after the chord's keys
#: expired finds no marker and waits, as Celery does.
MARKER_GRACE = 86400


class RedisChordMixin:
    """Each header task adds its result to a sorted set; the last one calls the body."""

    def _chord_keys(self, group_id: str) -> tuple[bytes, bytes, bytes]:
        return (self.get_key_for_group(group_id, '.j'),
                self.get_key_for_group(group_id, '.t'),
                self.get_key_for_group(group_id, '.s'))

    def _chord_marker_key(self, group_id: str) -> bytes:
        return self.get_key_for_group(group_id, '.m')

    def set_chord_size(self, group_id: str, chord_size: int) -> None:
        """Record how many header tasks the chord waits for (and mark the chord as ours)."""
        self.ensure(self._write_chord_size, (group_id, chord_size))

    def _write_chord_size(self, group_id: str, chord_size: int) -> None:
        jkey, tkey, skey = self._chord_keys(group_id)
        ttl = int(self.chord_expires or 0)
        with self.client.pipeline() as pipe:
            if not ttl:
                # Keys that never expire can't strand the chord: no marker needed.
                pipe.set(skey, chord_size).execute()
                return
            pipe.set(skey, chord_size, ex=ttl)
            # Parts that finished before the size was known expire together with it.
            pipe.expire(jkey, ttl).expire(tkey, ttl)
            pipe.set(self._chord_marker_key(group_id), b'1', ex=ttl + MARKER_GRACE)
            pipe.execute()

    def add_to_chord(self, group_id: str, result: AsyncResult[Any]) -> None:
        """One more task joins the header (``Task.add_to_chord``/``replace``)."""
        self.client.incr(self.get_key_for_group(group_id, '.t'), 1)

    def apply_chord(self, header_result_args: tuple[Any, ...], body: Signature,
                    **kwargs: Any) -> GroupResult:
        """Save the header only when it nests groups (their structure must survive)."""
        from celery.result import GroupResult
        header_result: GroupResult = self.app.GroupResult(*header_result_args)
        if any(isinstance(node, GroupResult) for node in header_result.results or ()):
            header_result.save(backend=self)
        return header_result

    def _unpack_chord_result(self, encoded: bytes) -> Any:
        _, tid, state, retval = self.decode(encoded)
        if state in states.EXCEPTION_STATES:
            retval = self.exception_to_python(retval)
        if state in states.PROPAGATE_STATES:
            raise ChordError(f'Dependency {tid} raised {retval!r}')
        return retval

    def _record_part(self, request: BackendRequest, state: str,
                     result: object) -> tuple[int, int, Any, bool]:
        """Add the part; returns ``(ready, added, size, whether the marker exists)``.

        The marker's TTL is not refreshed here (that would lengthen the hot
        pipeline); MARKER_GRACE is long enough for any real chord.
        """
        jkey, tkey, skey = self._chord_keys(request.group)
        mkey = self._chord_marker_key(request.group)
        group_index = getattr(request, 'group_index', None)
        encoded = self.encode([1, request.id, state, self.encode_result(result, state)])
        ttl = int(self.chord_expires or 0)
        with self.client.pipeline() as pipe:
            if self._chord_zset:
                score = '+inf' if group_index is None else group_index
                pipe.zadd(jkey, {encoded: score}).zcount(jkey, '-inf', '+inf')
            else:
                pipe.rpush(jkey, encoded).llen(jkey)
            # One MGET for counter, size and marker keeps the pipeline as short as before.
            pipe.mget(tkey, skey, mkey)
            if ttl:
                pipe.expire(jkey, ttl).expire(tkey, ttl).expire(skey, ttl)
            replies = pipe.execute()
        totaldiff, chord_size, marker = replies[2]
        return replies[1], int(totaldiff or 0), chord_size, marker is not None

    def on_chord_part_return(self, request: BackendRequest, state: str, result: object,
                             propagate: bool | None = None, **kwargs: Any) -> None:
        """Add this header task's result; the last one decodes them all and calls the body."""
        gid, tid = getattr(request, 'group', None), getattr(request, 'id', None)
        if not gid or not tid:
            return
        from celery.canvas import maybe_signature
        readycount, totaldiff, chord_size, marked = self._record_part(request, state, result)
        if not chord_size:
            # Without a marker this is a Celery client's chord or its size isn't
            # recorded yet: wait, as Celery does.
            if marked and getattr(request, 'chord', None):
                self._fail_expired_chord(request, gid)
            return
        callback = maybe_signature(request.chord, app=self.app)
        total = int(chord_size) + totaldiff
        if readycount != total:
            return
        try:
            self._join_sorted_set_and_call_body(gid, callback, total)
        finally:
            self.client.delete(*self._chord_keys(gid), self._chord_marker_key(gid))

    def _join_sorted_set_and_call_body(self, gid: str, callback: Signature | None,
                                       total: int) -> None:
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
        self.call_chord_body(gid, callback, values)

    def _fail_expired_chord(self, request: BackendRequest, gid: str) -> None:
        """The chord's keys expired before this header task finished: fail the body once."""
        from celery.canvas import maybe_signature
        callback = maybe_signature(request.chord, app=self.app)
        if callback.id and self.get_state(callback.id) != states.PENDING:
            # The keys were deleted, not expired: a Celery worker (which leaves
            # the marker) finished the chord and this is a duplicate delivery.
            return
        jkey, tkey, _ = self._chord_keys(gid)
        with self.client.pipeline() as pipe:
            # Whoever deletes the marker fails the body; later parts find none.
            claimed = pipe.delete(self._chord_marker_key(gid)).delete(jkey, tkey).execute()[0]
        if not claimed:
            return
        exc = ChordError(
            f'Chord {gid} can no longer complete: its stored header results expired '
            f'(result_chord_expires={self.chord_expires}s) before header task '
            f'{request.id} finished')
        logger.error('%s', exc)
        self.chord_error_from_stack(callback, exc)

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

