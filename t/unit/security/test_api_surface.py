"""Public names of celery.security: message texts, register_auth, the separator, whitelist."""
from __future__ import annotations

import inspect

import pytest
from kombu.serialization import registry

import celery.security as security
from celery.security import serialization


def test_message_texts():
    assert 'cryptography' in security.CRYPTOGRAPHY_NOT_INSTALLED
    assert 'security_key' in security.SETTING_MISSING.format(missing='security_key')
    for setting in ('security_key', 'security_certificate', 'security_cert_store'):
        assert setting in security.SETTING_MISSING
    assert "task_serializer = 'auth'" in security.SECURITY_SETTING_MISSING


def test_register_auth_is_importable_from_the_package():
    assert security.register_auth is serialization.register_auth
    assert list(inspect.signature(security.register_auth).parameters) == [
        'key', 'key_password', 'cert', 'store', 'digest', 'serializer']


def test_default_separator():
    assert serialization.DEFAULT_SEPARATOR == serialization.SEPARATOR == b'\x00\x01'


@pytest.fixture
def restore_registry():
    disabled = set(registry._disabled_content_types)
    yield
    registry._disabled_content_types.clear()
    registry._disabled_content_types.update(disabled)


def test_disable_untrusted_serializers_whitelist(restore_registry):
    security.disable_untrusted_serializers(whitelist=['json'])
    assert 'application/json' not in registry._disabled_content_types
    assert 'application/x-python-serialize' in registry._disabled_content_types
