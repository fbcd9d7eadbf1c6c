"""app.setup_security(): checks the configuration and installs the auth serializer."""
from __future__ import annotations

import pytest
from kombu.serialization import dumps, registry

from celery.exceptions import ImproperlyConfigured
from t.unit.security.certs import write_keypair


@pytest.fixture
def secure_app(app, tmp_path, signer):
    key, cert = write_keypair(tmp_path, 'signer', signer)
    app.conf.update(task_serializer='auth', accept_content=['auth'],
                    security_key=key, security_certificate=cert, security_cert_store=cert)
    return app


def test_setup_security_signs_by_default_and_disables_others(secure_app):
    secure_app.setup_security()
    content_type, _, _ = dumps([1])  # default serializer is now auth
    assert content_type == 'application/data'
    assert 'application/json' in registry._disabled_content_types
    assert 'application/data' not in registry._disabled_content_types


def test_allowed_serializers_stay_enabled(secure_app):
    secure_app.setup_security(allowed_serializers=['json'])
    assert 'application/json' not in registry._disabled_content_types
    assert 'application/x-python-serialize' in registry._disabled_content_types


def test_arguments_override_settings(app, tmp_path, signer):
    key, cert = write_keypair(tmp_path, 'signer', signer)
    trusted = tmp_path / 'trusted'
    trusted.mkdir()
    (trusted / 'signer.pem').write_bytes(signer.cert)
    app.conf.update(task_serializer='auth', accept_content=['application/data'])
    app.setup_security(key=key, cert=cert, store=str(trusted))
    assert dumps([1])[0] == 'application/data'


def test_module_function_uses_the_given_app(secure_app):
    from celery.security import setup_security
    setup_security(app=secure_app)
    assert dumps([1])[0] == 'application/data'


@pytest.mark.parametrize('changes,problem', [
    ({'task_serializer': 'json'}, 'task_serializer'),
    ({'accept_content': ['auth', 'json']}, 'accept_content'),
])
def test_serializer_settings_must_require_signing(secure_app, changes, problem):
    secure_app.conf.update(changes)
    with pytest.raises(ImproperlyConfigured, match=problem):
        secure_app.setup_security()
    assert 'application/json' not in registry._disabled_content_types


def test_missing_key_settings_are_named(app):
    app.conf.update(task_serializer='auth', accept_content=['auth'])
    with pytest.raises(ImproperlyConfigured, match='security_key, security_certificate'):
        app.setup_security()


def test_unreadable_key_file_is_named(secure_app, tmp_path):
    secure_app.conf.security_key = str(tmp_path / 'missing.key')
    with pytest.raises(ImproperlyConfigured, match='missing.key'):
        secure_app.setup_security()
    assert 'application/json' not in registry._disabled_content_types


def test_security_settings_have_celery_defaults(app):
    assert app.conf.security_digest == 'sha256'
    for name in ('security_key', 'security_certificate', 'security_cert_store',
                 'security_key_password'):
        assert app.conf[name] is None


def test_missing_cryptography_is_explained(monkeypatch):
    import sys
    for name in [m for m in sys.modules if m == 'celery.security' or m.startswith('celery.security.')]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, 'cryptography', None)
    with pytest.raises(ImproperlyConfigured, match=r"pip install 'celery\[auth\]'"):
        import celery.security  # noqa: F401
