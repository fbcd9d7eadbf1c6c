"""``@app.task(pydantic=True)``: model arguments validated from JSON data, model results dumped."""
from __future__ import annotations  # every annotation below is a string

from datetime import date
from typing import Optional

import pytest

from celery import Celery

pydantic = pytest.importorskip('pydantic')


class Order(pydantic.BaseModel):
    item: str
    quantity: int
    due: date | None = None


class Receipt(pydantic.BaseModel):
    total: int
    due: date | None = None


class Tagged(pydantic.BaseModel):
    name: str
    tenant: str = ''

    @pydantic.model_validator(mode='after')
    def tenant_from_context(self, info: pydantic.ValidationInfo) -> Tagged:
        if info.context:
            self.tenant = info.context['tenant']
        return self


@pytest.fixture
def app():
    application = Celery('pyd', set_as_current=False, broker='memory://',
                         backend='cache+memory://')
    yield application
    application.close()


def test_model_arguments_are_validated_and_results_dumped(app):
    @app.task(pydantic=True, shared=False)
    def place(order: Order, note: str = '') -> Receipt:
        assert isinstance(order, Order)
        return Receipt(total=order.quantity * 2, due=order.due)

    # As a worker gets them: JSON data, a date as its ISO string.
    result = place.apply(({'item': 'tea', 'quantity': 3, 'due': '2025-01-31'},)).get()
    assert result == {'total': 6, 'due': '2025-01-31'}


def test_optional_model_accepts_none(app):
    @app.task(pydantic=True, shared=False)
    def maybe(order: Optional[Order] = None) -> str:
        return 'none' if order is None else order.item

    assert maybe.apply((None,)).get() == 'none'
    assert maybe.apply(kwargs={'order': {'item': 'jam', 'quantity': 1}}).get() == 'jam'


def test_model_instances_pass_unchanged(app):
    @app.task(pydantic=True, shared=False)
    def count(order: Order) -> int:
        return order.quantity

    assert count(Order(item='x', quantity=4)) == 4


def test_invalid_data_fails_the_task(app):
    @app.task(pydantic=True, shared=False)
    def count(order: Order) -> int:
        return order.quantity

    with pytest.raises(pydantic.ValidationError):
        count({'item': 'x', 'quantity': 'many'})


def test_strict_mode_refuses_coercion(app):
    @app.task(pydantic=True, pydantic_strict=True, shared=False)
    def count(order: Order) -> int:
        return order.quantity

    with pytest.raises(pydantic.ValidationError):
        count({'item': 'x', 'quantity': '4'})


def test_lax_by_default(app):
    @app.task(pydantic=True, shared=False)
    def count(order: Order) -> int:
        return order.quantity

    assert count({'item': 'x', 'quantity': '4'}) == 4


def test_validation_context_reaches_validators(app):
    @app.task(pydantic=True, pydantic_context={'tenant': 'a'}, shared=False)
    def who(tagged: Tagged) -> str:
        return tagged.tenant

    assert who({'name': 'n'}) == 'a'


def test_dump_kwargs(app):
    @app.task(pydantic=True, pydantic_dump_kwargs={'exclude': {'tenant'}}, shared=False)
    def make() -> Tagged:
        return Tagged(name='n', tenant='x')

    assert make() == {'name': 'n'}


def test_unresolvable_annotation_leaves_only_that_argument_alone(app):
    @app.task(pydantic=True, shared=False)
    def mixed(order: Order, other: NotDefinedAnywhere) -> int:  # noqa: F821
        return order.quantity if isinstance(other, dict) else -1

    assert mixed({'item': 'x', 'quantity': 2}, {'raw': True}) == 2


def test_non_model_results_pass_unchanged(app):
    @app.task(pydantic=True, shared=False)
    def plain(order: Order) -> str:
        return order.item

    assert plain({'item': 'x', 'quantity': 1}) == 'x'
