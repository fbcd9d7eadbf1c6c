"""Message signing: the ``auth`` serializer and :func:`setup_security`."""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from celery.exceptions import ImproperlyConfigured

#: Why message signing cannot work here.
CRYPTOGRAPHY_NOT_INSTALLED = (
    'The auth serializer (message signing) needs the cryptography library: '
    "install it with pip install 'celery[auth]'.")

try:
    import cryptography  # noqa: F401 - the auth serializer can't work without it
except ImportError:
    raise ImproperlyConfigured(CRYPTOGRAPHY_NOT_INSTALLED) from None

from celery.security.serialization import register_auth  # noqa: E402 - needs cryptography

if TYPE_CHECKING:
    from celery.app.base import Celery

__all__ = ('disable_untrusted_serializers', 'setup_security')

SERIALIZER_SETTINGS_WRONG = """\
The auth serializer is only useful when every task message must be signed:
configure
    task_serializer = 'auth'
    accept_content = ['auth']
before calling app.setup_security() ({problem})."""

KEY_SETTINGS_MISSING = """\
Message signing needs a private key, its certificate and a certificate store:
configure
    security_key         (path of the PEM private key)
    security_certificate (path of the PEM certificate for that key)
    security_cert_store  (directory, file or glob of trusted PEM certificates)
or pass key=, cert= and store= to app.setup_security() (missing: {missing})."""

#: Celery's names for the two texts above: wrong serializer settings, missing key settings.
SECURITY_SETTING_MISSING = SERIALIZER_SETTINGS_WRONG
SETTING_MISSING = KEY_SETTINGS_MISSING

AUTH_NAMES = frozenset({'auth', 'application/data'})


def disable_untrusted_serializers(whitelist: Iterable[str] | None = None) -> None:
    """Disable every kombu decoder except those named in ``whitelist``."""
    from kombu.serialization import registry
    # Every registered content type (disabling one that only encodes is harmless).
    for content_type in list(registry.type_to_name):
        registry.disable(content_type)
    for name in whitelist or ():
        registry.enable(name)


def _check_serializer_settings(conf: Any) -> None:
    if conf.task_serializer != 'auth':
        raise ImproperlyConfigured(SERIALIZER_SETTINGS_WRONG.format(
            problem=f'task_serializer is {conf.task_serializer!r}'))
    accept = set(conf.accept_content or ())
    if not accept or not accept <= AUTH_NAMES:
        raise ImproperlyConfigured(SERIALIZER_SETTINGS_WRONG.format(
            problem=f'accept_content is {sorted(accept)!r}'))


def _read(path: str, setting: str) -> bytes:
    try:
        with open(path, 'rb') as fh:
            return fh.read()
    except OSError as exc:
        raise ImproperlyConfigured(f'Cannot read {setting} file {path!r}: {exc.strerror}.') from exc


def setup_security(allowed_serializers: Iterable[str] | None = None, key: str | None = None,
                   key_password: str | bytes | None = None, cert: str | None = None,
                   store: str | None = None, digest: str | None = None,
                   serializer: str = 'json', app: Celery | None = None) -> None:
    """Sign every task message with the ``auth`` serializer and refuse unsigned ones.

    ``key``, ``cert`` and ``store`` are paths; unset ones come from the
    ``security_*`` settings.  All other serializers are disabled for
    decoding unless named in ``allowed_serializers``.
    """
    from kombu.serialization import registry

    from celery.transport.serialization import set_default_serializer
    if app is None:
        from celery._state import get_current_app
        app = get_current_app()
    conf = app.conf
    _check_serializer_settings(conf)
    key = key or conf.security_key
    key_password = key_password or conf.security_key_password
    cert = cert or conf.security_certificate
    store = store or conf.security_cert_store
    digest = digest or conf.security_digest
    missing = [name for name, value in (('security_key', key), ('security_certificate', cert),
                                        ('security_cert_store', store)) if not value]
    if missing:
        raise ImproperlyConfigured(KEY_SETTINGS_MISSING.format(missing=', '.join(missing)))
    # Everything that can fail runs before the process-wide registry changes.
    register_auth(_read(key, 'security_key'), key_password, _read(cert, 'security_certificate'),
                  store, digest, serializer)
    disable_untrusted_serializers(allowed_serializers)
    registry.enable('auth')
    set_default_serializer('auth')
