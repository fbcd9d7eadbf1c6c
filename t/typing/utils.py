"""Utilities and results keep the types of what they hold (the typing-utils set)."""
from __future__ import annotations

from celery import Celery
from celery.local import PromiseProxy, Proxy, class_property, maybe_evaluate
from celery.result import AsyncResult, GroupResult, result_from_tuple
from celery.utils.collections import ChainMap, ConfigurationView, LimitedSet, LRUCache
from celery.utils.functional import first, lazy, maybe_list, memoize, regen
from celery.utils.graph import DependencyGraph
from celery.utils.imports import symbol_by_name

app = Celery('typing')


def answer() -> int:
    return 42


proxy = Proxy(answer)
reveal_type(proxy._get_current_object())  # N: Revealed type is "int"
reveal_type(maybe_evaluate(PromiseProxy(answer)))  # N: Revealed type is "int"
reveal_type(maybe_evaluate('as is'))  # N: Revealed type is "str"
reveal_type(lazy(answer)())  # N: Revealed type is "int"
reveal_type(regen(iter([1, 2])))  # N: Revealed type is "list[int]"
reveal_type(maybe_list(None))  # N: Revealed type is "None"
reveal_type(first(None, [1, None]))  # N: Revealed type is "object"
reveal_type(memoize(maxsize=10)(answer)())  # N: Revealed type is "int"

cache: LRUCache[str, int] = LRUCache(limit=10)
reveal_type(cache['key'])  # N: Revealed type is "int"
chain_map: ChainMap[str, int] = ChainMap({'a': 1})
reveal_type(chain_map.get('a'))  # N: Revealed type is "int | None"
reveal_type(chain_map.get('a', 0))  # N: Revealed type is "int"
view: ConfigurationView[int] = ConfigurationView({}, [{'a': 1}])
reveal_type(view.a)  # N: Revealed type is "int"
revoked: LimitedSet[str] = LimitedSet(maxlen=10)
reveal_type(revoked.pop())  # N: Revealed type is "str | None"
graph: DependencyGraph[str] = DependencyGraph([('a', ['b'])])
reveal_type(graph.topsort())  # N: Revealed type is "list[str]"
reveal_type(symbol_by_name(answer))  # N: Revealed type is "def () -> int"


class Settings:
    @class_property
    def kind(cls: type) -> str:
        return cls.__name__


reveal_type(Settings.kind)  # N: Revealed type is "str"


def results(one: AsyncResult[int], group: GroupResult) -> None:
    reveal_type(one.get())  # N: Revealed type is "int"
    reveal_type(one.as_tuple())  # N: Revealed type is "tuple[tuple[str | None, tuple[tuple[str | None, ... | None], list[...] | None] | None], list[tuple[tuple[str | None, ... | None], list[...] | None]] | None]"
    reveal_type(result_from_tuple(one))  # N: Revealed type is "celery.result.async_result.AsyncResult[int]"
    reveal_type(group.get())  # N: Revealed type is "list[Any]"
    reveal_type(group.get(callback=lambda task_id, value: None))  # N: Revealed type is "list[Any] | None"
    reveal_type(group.children)  # N: Revealed type is "list[celery.result.async_result.AsyncResult[Any] | celery.result.result_set.GroupResult]"
