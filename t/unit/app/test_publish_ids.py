"""Task ids and the ``origin`` header: made cheaply, in the same format as before."""
from __future__ import annotations

import os
import uuid as stdlib_uuid

import pytest

from celery import Celery
from celery.utils import uuid


def test_task_ids_are_random_rfc4122_version_4_uuids_in_canonical_form() -> None:
    ids = {uuid() for _ in range(5000)}
    assert len(ids) == 5000
    for text in ids:
        parsed = stdlib_uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == stdlib_uuid.RFC_4122


def test_every_variant_digit_occurs() -> None:
    # The variant nibble keeps its two random bits: 8, 9, a and b all appear.
    assert {uuid()[19] for _ in range(2000)} == set('89ab')


def test_a_custom_uuid_factory_is_still_used() -> None:
    fixed = stdlib_uuid.UUID('12345678-1234-5678-1234-567812345678')
    assert uuid(lambda: fixed) == str(fixed)


@pytest.mark.skipif(not hasattr(os, 'fork'), reason='needs fork')
def test_origin_names_the_current_process_also_in_a_forked_child() -> None:
    app = Celery('origin', set_as_current=False)
    parent_origin = app.amqp._origin
    assert parent_origin.startswith('gen') and str(os.getpid()) in parent_origin
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover -- the child reports through the pipe
        try:
            os.write(write, app.amqp._origin.encode())
        finally:
            os._exit(0)
    os.close(write)
    child_origin = os.read(read, 200).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert child_origin == f'gen{pid}@{parent_origin.split("@", 1)[1]}'
    assert app.amqp._origin == parent_origin
