"""Result backend aliases and ``result_backend`` URL → backend class."""
from __future__ import annotations

from typing import TYPE_CHECKING

from celery._state import current_app  # noqa: F401 -- importable from here, as in Celery
from celery.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from celery.backends.base import Backend
    from celery.loaders.base import BaseLoader

__all__ = ('BACKEND_ALIASES', 'by_name', 'by_url')

# Celery's user-visible text, kept verbatim.
UNKNOWN_BACKEND = """\
Unknown result backend: {0!r}.  Did you spell that correctly? ({1!r})\
"""

#: Alias (URL scheme) → ``module:Class``: Celery's aliases, kept for compatibility.
BACKEND_ALIASES = {
    'rpc': 'celery.backends.rpc:RPCBackend',
    'cache': 'celery.backends.cache:CacheBackend',
    'redis': 'celery.backends.redis:RedisBackend',
    'rediss': 'celery.backends.redis:RedisBackend',
    'sentinel': 'celery.backends.redis:SentinelBackend',
    'mongodb': 'celery.backends.mongodb:MongoBackend',
    'db': 'celery.backends.database:DatabaseBackend',
    'database': 'celery.backends.database:DatabaseBackend',
    'elasticsearch': 'celery.backends.elasticsearch:ElasticsearchBackend',
    'cassandra': 'celery.backends.cassandra:CassandraBackend',
    'couchbase': 'celery.backends.couchbase:CouchbaseBackend',
    'couchdb': 'celery.backends.couchdb:CouchBackend',
    'cosmosdbsql': 'celery.backends.cosmosdbsql:CosmosDBSQLBackend',
    'riak': 'celery.backends.riak:RiakBackend',
    'file': 'celery.backends.filesystem:FilesystemBackend',
    'disabled': 'celery.backends.base:DisabledBackend',
    'consul': 'celery.backends.consul:ConsulBackend',
    'dynamodb': 'celery.backends.dynamodb:DynamoDBBackend',
    'azureblockblob': 'celery.backends.azureblockblob:AzureBlockBlobBackend',
    'arangodb': 'celery.backends.arangodb:ArangoDbBackend',
    's3': 'celery.backends.s3:S3Backend',
    'gs': 'celery.backends.gcs:GCSBackend',
}

#: URL schemes that select a backend under another name.
_SCHEME_ALIASES = {'socket': 'redis', 'redis+socket': 'redis'}

#: Client library each backend needs → the extra that installs it.
_EXTRAS = {
    'redis': 'redis', 'sqlalchemy': 'sqlalchemy', 'pymemcache': 'memcache',
    'pylibmc': 'memcache', 'memcache': 'memcache', 'psycopg2': 'postgresql',
    'pymongo': 'mongodb', 'elasticsearch': 'elasticsearch',
}


def _load_class(path: str, name: str) -> type[Backend]:
    from celery.utils.imports import symbol_by_name
    try:
        found: type[Backend] = symbol_by_name(path)
        return found
    except ModuleNotFoundError as exc:
        missing = (exc.name or '').split('.')[0]
        if missing == 'celery' or missing not in _EXTRAS:
            if (exc.name or '').startswith('celery.backends'):
                raise ImproperlyConfigured(
                    f'Result backend {name!r} is not available in this installation '
                    f'({exc.name} is missing).') from exc
            raise
        raise ImproperlyConfigured(
            f'The {name!r} result backend needs the {missing!r} library: '
            f"pip install 'celery[{_EXTRAS[missing]}]'") from exc


def _entry_point_backend(name: str) -> str | None:
    from importlib.metadata import entry_points
    for ep in entry_points(group='celery.result_backends'):
        if ep.name == name:
            return ep.value
    return None


def by_name(backend: str | type[Backend] | None = None, loader: BaseLoader | None = None,
            extension_namespace: str = 'celery.result_backends') -> type[Backend]:
    """Return the backend class for an alias, a ``module:Class`` path or a class."""
    backend = backend or 'disabled'
    if not isinstance(backend, str):
        return backend
    aliases = dict(BACKEND_ALIASES)
    if loader is not None:
        aliases.update(getattr(loader, 'override_backends', None) or {})
    path = aliases.get(backend)
    if path is None and ':' not in backend and '.' not in backend:
        path = _entry_point_backend(backend)
    if path is None:
        if ':' not in backend and '.' not in backend:
            raise ImproperlyConfigured(UNKNOWN_BACKEND.strip().format(
                backend, f'known backends: {", ".join(sorted(aliases))}'))
        path = backend
    try:
        return _load_class(path, backend)
    except (ImportError, AttributeError, ValueError) as exc:
        if isinstance(exc, ImproperlyConfigured):
            raise
        raise ImproperlyConfigured(UNKNOWN_BACKEND.strip().format(backend, str(exc))) from exc


def by_url(backend: str | type[Backend] | None = None, loader: BaseLoader | None = None
           ) -> tuple[type[Backend], str | None]:
    """Return ``(backend class, url)`` for a ``result_backend`` value."""
    if not (isinstance(backend, str) and '://' in backend):
        return by_name(backend, loader), None
    scheme = backend.partition('://')[0]
    if '+' in scheme and scheme not in _SCHEME_ALIASES:
        # ``db+postgresql://...``: the alias picks the backend, which gets the rest as its URL.
        alias, backend_url = backend.split('+', 1)
        return by_name(alias, loader), backend_url
    return by_name(_SCHEME_ALIASES.get(scheme, scheme), loader), backend
