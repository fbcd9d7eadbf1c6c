"""TLS options of the redis backend (``rediss://`` and ``redis_backend_use_ssl``)."""
from __future__ import annotations

import ssl
from typing import Any

from celery.exceptions import ImproperlyConfigured
from celery.utils.log import get_logger

__all__ = (
    'E_REDIS_SSL_CERT_REQS_MISSING_INVALID',
    'E_REDIS_SSL_PARAMS_AND_SCHEME_MISMATCH',
    'SSL_CERT_REQS',
    'W_REDIS_SSL_CERT_NONE',
    'W_REDIS_SSL_CERT_OPTIONAL',
    'apply_ssl_options',
)

logger = get_logger(__name__)

#: Accepted spellings of ``ssl_cert_reqs``.
SSL_CERT_REQS = {
    'CERT_REQUIRED': ssl.CERT_REQUIRED, 'required': ssl.CERT_REQUIRED,
    'CERT_OPTIONAL': ssl.CERT_OPTIONAL, 'optional': ssl.CERT_OPTIONAL,
    'CERT_NONE': ssl.CERT_NONE, 'none': ssl.CERT_NONE,
}

E_REDIS_SSL_CERT_REQS_MISSING_INVALID = E_CERT_REQS = """\
A rediss:// URL must have parameter ssl_cert_reqs and this must be set to \
CERT_REQUIRED, CERT_OPTIONAL, or CERT_NONE (or set redis_backend_use_ssl = \
{'ssl_cert_reqs': ssl.CERT_REQUIRED})\
"""


E_REDIS_SSL_PARAMS_AND_SCHEME_MISMATCH = """\
SSL options were given in the URL query of a redis:// backend URL: \
use the rediss:// scheme for TLS connections.\
"""

W_REDIS_SSL_CERT_OPTIONAL = """\
Secure redis scheme specified (rediss) with ssl_cert_reqs=optional: \
certificates are checked only when the server sends one.\
"""

W_REDIS_SSL_CERT_NONE = """\
Secure redis scheme specified (rediss) with ssl_cert_reqs=none: \
server certificates are not verified (man-in-the-middle risk).\
"""


def apply_ssl_options(connparams: dict[str, Any], ssl_connection_class: type) -> None:
    """Validate and normalize ``ssl_cert_reqs`` when the connection uses TLS."""
    if not (isinstance(connparams.get('connection_class'), type)
            and issubclass(connparams['connection_class'], ssl_connection_class)):
        return
    cert_reqs = connparams.get('ssl_cert_reqs', 'MISSING')
    cert_reqs = SSL_CERT_REQS.get(cert_reqs, cert_reqs) if isinstance(cert_reqs, str) \
        else cert_reqs
    if cert_reqs not in SSL_CERT_REQS.values():
        raise ImproperlyConfigured(E_CERT_REQS)
    if cert_reqs == ssl.CERT_OPTIONAL:
        logger.warning(W_REDIS_SSL_CERT_OPTIONAL)
    elif cert_reqs == ssl.CERT_NONE:
        logger.warning(W_REDIS_SSL_CERT_NONE)
    connparams['ssl_cert_reqs'] = cert_reqs
