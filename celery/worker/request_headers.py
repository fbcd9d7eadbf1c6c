"""Read-only views of a task message's headers and embedded options, for ``Request``.

Every property reads the message when asked, never at construction: the
worker builds a request per message and most of these are never looked at.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from celery.worker.request import Payload

__all__ = ('RequestHeaderFields',)


class RequestHeaderFields:
    """Message fields of a request: protocol 2 headers and the body's embed."""

    # Empty: the Request subclass decides its own slots.
    __slots__ = ()

    _request_dict: dict[str, Any]

    def _payload(self) -> Payload:
        raise NotImplementedError

    def _embedded(self, key: str) -> Any:
        """``key`` from the headers (protocol 1, converted) or the body's embed (decoded data)."""
        value = self._request_dict.get(key)
        if value is not None:
            return value
        try:
            embed = self._payload()[2]
        except Exception:  # noqa: BLE001 - an undecodable body has no options
            return None
        return embed.get(key) if embed else None

    @property
    def reply_to(self) -> str | None:
        """Where an RPC result goes (message property)."""
        reply_to: str | None = self._request_dict['reply_to']
        return reply_to

    @property
    def correlation_id(self) -> str | None:
        """The message's correlation id (the task id for Celery clients)."""
        correlation_id: str | None = self._request_dict['correlation_id']
        return correlation_id

    @property
    def root_id(self) -> str | None:
        """Id of the first task of the workflow."""
        return self._request_dict.get('root_id')

    @property
    def parent_id(self) -> str | None:
        """Id of the task that sent this one."""
        return self._request_dict.get('parent_id')

    @property
    def argsrepr(self) -> str:
        """The client's repr of the positional arguments."""
        return self._request_dict.get('argsrepr') or ''

    @property
    def kwargsrepr(self) -> str:
        """The client's repr of the keyword arguments."""
        return self._request_dict.get('kwargsrepr') or ''

    @property
    def stamped_headers(self) -> list[str]:
        """Names of the stamps the message carries."""
        return self._request_dict.get('stamped_headers') or []

    @property
    def stamps(self) -> dict[str, Any]:
        """Stamp name -> value."""
        headers = self._request_dict.get('stamps') or self._request_dict
        return {h: headers.get(h) for h in self.stamped_headers}

    @property
    def ignore_result(self) -> bool:
        """Whether the client asked not to store the result."""
        return bool(self._request_dict.get('ignore_result'))

    @property
    def group(self) -> str | None:
        """Id of the group this task is a member of."""
        return self._request_dict.get('group')

    @property
    def group_index(self) -> int | None:
        """Position of this task in its group (orders the group's results)."""
        return self._request_dict.get('group_index')

    @property
    def groups(self) -> list[str]:
        """Ids of every group enclosing this task, innermost last (empty if none sent)."""
        return self._request_dict.get('groups') or []

    @property
    def replaced_task_nesting(self) -> int:
        """How many times ``Task.replace`` led to this task."""
        return self._request_dict.get('replaced_task_nesting') or 0

    @property
    def chord(self) -> dict[str, Any] | None:
        """The chord this task is a header part of (decodes the body on first use)."""
        chord: dict[str, Any] | None = self._embedded('chord')
        return chord

    @property
    def errbacks(self) -> list[Any] | None:
        """Signatures called if the task fails (decodes the body on first use)."""
        errbacks: list[Any] | None = self._embedded('errbacks')
        return errbacks
