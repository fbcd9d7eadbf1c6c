"""Where the test suite finds its servers: one environment variable each.

Every test, test app and benchmark takes its broker and backend locations
from here, so a run can be pointed elsewhere with one variable per server.
Redis is used through databases of the suite's own (never 0): the broker
database named by ``TEST_REDIS_URL`` and the next one up for results.
"""
from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

AMQP_URL = os.environ.get('TEST_AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672//')
REDIS_URL = os.environ.get('TEST_REDIS_URL', 'redis://127.0.0.1:6379/10')
POSTGRES_URL = os.environ.get('TEST_POSTGRES_URL', 'postgresql://postgres@127.0.0.1:5432/test')
MEMCACHED_URL = os.environ.get('TEST_MEMCACHED_URL', 'memcached://127.0.0.1:11211/')


def redis_database(url: str) -> int:
    """The database number of a ``redis://`` URL (0 when it names none)."""
    path = urlsplit(url).path.strip('/')
    return int(path) if path else 0


def with_redis_database(url: str, db: int) -> str:
    """``url`` pointing at database ``db`` of the same server."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f'/{db}', parts.query, parts.fragment))


def server_port(url: str, default: int) -> int:
    """The port a server URL names (``default`` when it names none)."""
    return urlsplit(url).port or default


def via_local_port(url: str, port: int) -> str:
    """``url`` reaching its server through ``127.0.0.1:port`` (a test's proxy)."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition('@')[0]
    netloc = f'{userinfo}@127.0.0.1:{port}' if userinfo else f'127.0.0.1:{port}'
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


#: Results go to the database after the broker's.
REDIS_BACKEND_URL = with_redis_database(REDIS_URL, redis_database(REDIS_URL) + 1)
#: Every Redis database the suite writes to (cleaned at the end of a run).
REDIS_DATABASES = (redis_database(REDIS_URL), redis_database(REDIS_BACKEND_URL))

if 0 in REDIS_DATABASES:
    raise RuntimeError(
        f'TEST_REDIS_URL={REDIS_URL!r}: the test suite flushes its Redis databases; '
        'give it ones of its own (not 0), e.g. redis://127.0.0.1:6379/10')
