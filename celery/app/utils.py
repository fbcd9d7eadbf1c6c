"""``app.conf`` (:class:`Settings`), configuration detection, bug reports and ``-A`` lookup."""
from __future__ import annotations

import os
import platform as _platform
import re
from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping
from pprint import pformat
from types import ModuleType
from typing import TYPE_CHECKING, Any

from celery.app.defaults import (
    _OLD_DEFAULTS,
    _OLD_SETTING_KEYS,
    _TO_NEW_KEY,
    _TO_OLD_KEY,
    DEFAULTS,
    SETTING_KEYS,
    find,
    searchresult,
    validate,
)
# AppPickler lives in celery.app.pickling; Celery code imports it from here.
from celery.app.pickling import AppPickler  # noqa: F401
from celery.exceptions import ImproperlyConfigured
from celery.utils.collections import ConfigurationView

if TYPE_CHECKING:
    from celery.app.base import Celery
    from celery.utils.collections.mappings import ChainMap

__all__ = (
    'Settings',
    'appstr',
    'bugreport',
    'detect_settings',
    'filter_hidden_settings',
    'find_app',
    'sanitize_url',
    'validate_settings',
)

#: Settings whose names look secret are shown masked by ``humanize``/``table``.
HIDDEN_SETTINGS = re.compile(
    'API|TOKEN|KEY|SECRET|PASS|PROFANITIES_LIST|SIGNATURE|DATABASE', re.IGNORECASE)

MASK = '*' * 8

# Celery's bug report layout (``celery report``), a user-visible text kept verbatim.
BUGREPORT_INFO = """
software -> celery:{celery_v} kombu:{kombu_v} py:{py_v}
            billiard:{billiard_v} {driver_v}
platform -> system:{system} arch:{arch}
            kernel version:{kernel_version} imp:{py_i}
loader   -> {loader}
settings -> transport:{transport} results:{results}

{human_settings}
"""

E_MIX_NEW = """\
Cannot mix new and old setting names.  This configuration mostly uses the new
(lowercase) names, so rename these old names:

{renames}

`celery upgrade settings path/to/module.py` renames them for you.\
"""

E_MIX_OLD = """\
Cannot mix new and old setting names.  This configuration mostly uses the old
(UPPERCASE) names, which are deprecated: rename every setting to the new
format, starting with these:

{renames}

`celery upgrade settings path/to/module.py` renames them for you.\
"""

# Celery's names for the two texts: old names mixed into a new-style
# configuration, and new names mixed into an old-style one.
E_MIX_OLD_INTO_NEW = E_MIX_NEW
E_MIX_NEW_INTO_OLD = E_MIX_OLD

FMT_REPLACE_SETTING = '    {replace:<40} -> {with_}'

_settings_info_t = namedtuple('_settings_info_t', ('defaults', 'convert', 'mix_error'))
_settings_info = _settings_info_t(DEFAULTS, _TO_NEW_KEY, E_MIX_NEW)
_old_settings_info = _settings_info_t(_OLD_DEFAULTS, _TO_OLD_KEY, E_MIX_OLD)


def _old_key_to_new(key: str, convert: Callable[..., str] = _TO_NEW_KEY.get) -> str:
    return convert(key, key)


def _new_key_to_old(key: str, convert: Callable[..., str] = _TO_OLD_KEY.get) -> str:
    return convert(key, key)


#: Keys whose value is computed (environment overrides, fallbacks), under
#: their new and old names, mapped to the :class:`Settings` property.
_COMPUTED = {
    name: name for name in (
        'broker_url', 'broker_read_url', 'broker_write_url', 'result_backend',
        'task_default_exchange', 'task_default_routing_key', 'timezone')
}
_COMPUTED.update({_TO_OLD_KEY[name]: name for name in list(_COMPUTED)})


class Settings(ConfigurationView):
    """The app's configuration (``app.conf``): changes, loaded config, defaults.

    ``broker_url``, ``broker_read_url``, ``broker_write_url`` and
    ``result_backend`` honour the ``CELERY_BROKER_URL``,
    ``CELERY_BROKER_READ_URL``, ``CELERY_BROKER_WRITE_URL`` and
    ``CELERY_RESULT_BACKEND`` environment variables, which win over the
    configuration.
    """

    def __init__(self, *args: Any, deprecated_settings: set[str] | None = None,
                 **kwargs: Any) -> None:
        # Arguments of ConfigurationView: changes, defaults, keys, prefix.
        super().__init__(*args, **kwargs)
        self.__dict__['deprecated_settings'] = deprecated_settings
        self.__dict__['version'] = 0

    # Every write bumps ``version``: caches of settings (the publish
    # snapshot in celery.app.publish_settings) compare it to stay current.

    def _changed(self) -> None:
        self.__dict__['version'] += 1

    def __setitem__(self, key: str, value: object) -> None:
        super().__setitem__(key, value)
        self._changed()

    def __delitem__(self, key: str) -> None:
        try:
            super().__delitem__(key)
        finally:
            self._changed()

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Set several keys (each replacing its aliases), then notify observers."""
        try:
            super().update(*args, **kwargs)
        finally:
            self._changed()

    def add_defaults(self, d: Mapping[str, object] | object) -> None:
        """Add a defaults layer that wins over the existing default layers."""
        super().add_defaults(d)
        self._changed()

    def pop(self, key: str, *default: object) -> object:
        """Remove ``key`` from the changes layer."""
        try:
            value: object = super().pop(key, *default)
            return value
        finally:
            self._changed()

    def clear(self) -> None:
        """Empty the changes layer."""
        super().clear()
        self._changed()

    def _raw(self, key: str) -> Any:
        try:
            return self._lookup(key)
        except KeyError:
            return None

    def _first_raw(self, *keys: str) -> Any:
        for key in keys:
            value = self._raw(key)
            if value:
                return value
        return None

    # Any: a setting's value, whose type depends on the key.
    def __getitem__(self, key: str) -> Any:
        computed = _COMPUTED.get(key) if isinstance(key, str) else None
        if computed is not None:
            return getattr(self, computed)
        return super().__getitem__(key)

    @property
    def broker_read_url(self) -> str | None:
        """URL for consuming: env, ``broker_read_url``, then :attr:`broker_url`."""
        url: str | None = self._raw('broker_read_url')
        return os.environ.get('CELERY_BROKER_READ_URL') or url or self.broker_url

    @property
    def broker_write_url(self) -> str | None:
        """URL for publishing: env, ``broker_write_url``, then :attr:`broker_url`."""
        url: str | None = self._raw('broker_write_url')
        return os.environ.get('CELERY_BROKER_WRITE_URL') or url or self.broker_url

    @property
    def broker_url(self) -> str | None:
        """Broker URL: ``CELERY_BROKER_URL`` from the environment wins over the config."""
        url: str | None = self._first_raw('broker_url', 'broker_host')
        return os.environ.get('CELERY_BROKER_URL') or url

    @property
    def result_backend(self) -> str | None:
        """Result backend: ``CELERY_RESULT_BACKEND`` from the environment wins."""
        url: str | None = self._first_raw('result_backend', 'CELERY_RESULT_BACKEND')
        return os.environ.get('CELERY_RESULT_BACKEND') or url

    @property
    def task_default_exchange(self) -> str | None:
        """Default exchange, falling back to the default queue's name."""
        name: str | None = self._first_raw('task_default_exchange', 'task_default_queue')
        return name

    @property
    def task_default_routing_key(self) -> str | None:
        """Default routing key, falling back to the default queue's name."""
        key: str | None = self._first_raw('task_default_routing_key', 'task_default_queue')
        return key

    @property
    def timezone(self) -> str | None:
        """Time zone name; Django's ``TIME_ZONE`` is used when ``timezone`` is unset."""
        name: str | None = self._first_raw('timezone', 'TIME_ZONE')
        return name

    def without_defaults(self) -> Settings:
        """This configuration without its last (built-in defaults) layer."""
        return Settings({}, self.maps[:-1], keys=self._keys, prefix=self.prefix)

    def value_set_for(self, key: str) -> bool:
        """True if ``key`` was configured (not just a default)."""
        return key in self.without_defaults()

    def find_option(self, name: str, namespace: str = '') -> searchresult:
        """Find the :class:`~celery.app.defaults.Option` for ``name``."""
        return find(name, namespace)

    def find_value_for_key(self, name: str, namespace: str = 'celery') -> object:
        """Value of the setting found by :meth:`find_option`."""
        return self.get_by_parts(*self.find_option(name, namespace)[:-1])

    def get_by_parts(self, *parts: str | None) -> object:
        """Value of the setting named by joining ``parts`` with ``_``."""
        return self['_'.join(part for part in parts if part)]

    def finalize(self) -> Settings:
        """Load pending configuration (the first read of a pending conf loads it)."""
        try:
            self['__bogus__']
        except KeyError:
            pass
        return self

    def swap_with(self, other: ChainMap) -> None:
        """Take over ``other``'s layers (keeping this object, which others may hold)."""
        super().swap_with(other)
        self.__dict__['deprecated_settings'] = other.__dict__.get('deprecated_settings')
        self._changed()

    def table(self, with_defaults: bool = False, censored: bool = True) -> dict[str, object]:
        """Settings as a dict (secrets masked unless ``censored=False``)."""
        self.finalize()
        settings = self if with_defaults else self.without_defaults()
        table = {
            key: value for key, value in settings.items()
            if isinstance(key, str) and not key.startswith('_')
            and not isinstance(value, ModuleType)
        }
        return filter_hidden_settings(table) if censored else table

    def humanize(self, with_defaults: bool = False, censored: bool = True) -> str:
        """Settings as ``key: value`` lines, for bug reports and ``celery report``."""
        return '\n'.join(
            f'{key}: {pformat(value, width=50)}'
            for key, value in self.table(with_defaults, censored).items())

    def maybe_warn_deprecated_settings(self) -> bool:
        """Warn once per old-style setting name in use; True if there were any."""
        if not self.deprecated_settings:
            return False
        import warnings

        from celery.exceptions import CDeprecationWarning
        for setting in sorted(self.deprecated_settings):
            warnings.warn(CDeprecationWarning(
                f'The {setting!r} setting is deprecated and scheduled for removal in '
                f'version 6.0.0. Use the {_TO_NEW_KEY[setting]} setting instead'),
                stacklevel=2)
        return True


def validate_settings(conf: Settings) -> Settings:
    """Check the value of every known setting in ``conf``.

    Raises :exc:`~celery.exceptions.ImproperlyConfigured` naming each bad
    setting, its value and what is accepted.  Numbers and booleans given as
    text (e.g. from the environment) are converted in place.
    """
    values = {name: conf._raw(name) for name in SETTING_KEYS}
    for name, value in validate(values).items():
        conf[name] = value
    return conf


def detect_settings(conf: Mapping[str, object] | None,
                    preconf: Mapping[str, object] | None = None,
                    ignore_keys: Iterable[str] | None = None, prefix: str | None = None,
                    all_keys: Iterable[str] | None = None,
                    old_keys: Iterable[str] | None = None) -> Settings:
    """Build the app's :class:`Settings` from loaded config ``conf`` and ``preconf``.

    Decides whether the configuration uses the new (lowercase) or old
    (UPPERCASE) setting names; raises
    :exc:`~celery.exceptions.ImproperlyConfigured` when they are mixed.
    Call :func:`validate_settings` on the result once every layer is added.
    """
    preconf = preconf or {}
    ignore_keys = set(ignore_keys or ())
    all_keys = SETTING_KEYS if not all_keys else set(all_keys)
    old_keys = _OLD_SETTING_KEYS if not old_keys else set(old_keys)

    source = preconf if conf is None else conf
    if conf is None:
        conf = {}
    have = {key for key in source if isinstance(key, str)} - ignore_keys
    is_in_new = have & all_keys
    is_in_old = have & old_keys

    if prefix:
        # A namespace (Django's CELERY_) always means the new names.
        info, left = _settings_info, set()
    elif is_in_old and len(is_in_old) > len(is_in_new):
        info, left = _old_settings_info, is_in_new
    else:
        info, left = _settings_info, is_in_old

    # A key given under both names (e.g. result_expires and
    # CELERY_TASK_RESULT_EXPIRES) is not a mix-up: the new style wins.
    really_left = {key for key in left if info.convert[key] not in have}
    if really_left:
        raise ImproperlyConfigured(info.mix_error.format(renames='\n'.join(
            FMT_REPLACE_SETTING.format(replace=key, with_=info.convert[key])
            for key in sorted(really_left))))

    changes = {info.convert.get(key, key): value for key, value in preconf.items()}
    defaults = {key: value.copy() if isinstance(value, (dict, list)) else value
                for key, value in info.defaults.items()}
    return Settings(
        changes, [conf, defaults], (_old_key_to_new, _new_key_to_old),
        deprecated_settings=is_in_old if info is _old_settings_info else None,
        prefix=prefix)


def filter_hidden_settings(conf: Mapping[str, object]) -> dict[str, object]:
    """Copy of ``conf`` with secrets masked: secret-looking keys and URL passwords."""
    return {key: _censor(key, value) for key, value in conf.items()}


def _censor(key: object, value: object) -> object:
    if isinstance(value, Mapping):
        return filter_hidden_settings(value)
    if isinstance(key, str) and HIDDEN_SETTINGS.search(key):
        return MASK
    if isinstance(key, str) and 'broker_url' in key.lower() and isinstance(value, str):
        # As Celery reports it: normalised by kombu (``amqp://`` shows the
        # user, host, port and vhost it means), password masked.
        from kombu import Connection
        return ';'.join(Connection(part).as_uri(mask=MASK) for part in value.split(';'))
    return _censor_urls(value)


def sanitize_url(url: str, mask: str = MASK) -> str:
    """``url`` with its password replaced by ``mask`` (each URL of a ``;`` list)."""
    from kombu.utils.url import maybe_sanitize_url
    return ';'.join(maybe_sanitize_url(part, mask=mask) for part in url.split(';'))


def _censor_urls(value: object) -> object:
    if isinstance(value, str):
        return sanitize_url(value) if '://' in value else value
    if isinstance(value, (list, tuple)):
        return type(value)(_censor_urls(item) for item in value)
    return value


def appstr(app: Celery) -> str:
    """String naming an app, for logs and banners."""
    return f'{app.main or "__main__"} at {id(app):#x}'


def bugreport(app: Celery) -> str:
    """Software versions, platform, loader and (censored) settings of ``app``."""
    import billiard
    import kombu

    import celery
    try:
        conn = app.connection()
        driver_v = f'{conn.transport.driver_name}:{conn.transport.driver_version()}'
        transport = conn.transport_cls
    except Exception:  # noqa: BLE001 - a report must not fail on a broken broker setting
        transport = driver_v = ''
    from kombu.utils.url import maybe_sanitize_url
    loader_cls = type(app.loader)
    return BUGREPORT_INFO.format(
        system=_platform.system(),
        arch=', '.join(part for part in _platform.architecture() if part),
        kernel_version=_platform.release(),
        py_i=f'{_platform.python_implementation()} {_platform.python_version()}',
        celery_v=celery.VERSION_BANNER,
        kombu_v=kombu.__version__,
        billiard_v=billiard.__version__,
        py_v=_platform.python_version(),
        driver_v=driver_v,
        transport=transport,
        results=maybe_sanitize_url(app.conf.result_backend or 'disabled', mask=MASK),
        human_settings=app.conf.humanize(),
        loader=f'{loader_cls.__module__}.{loader_cls.__qualname__}',
    )


def find_app(app: str, symbol_by_name: Callable[..., object] | None = None,
             imp: Callable[[str], ModuleType] | None = None) -> object:
    """Find the Celery app named by ``-A``: ``module``, ``module:attr`` or ``module.attr``.

    For a bare module it tries the attributes ``app`` and ``celery``, then
    the submodule ``<module>.celery``, then any Celery instance in the module.
    """
    from celery.app.base import Celery
    from celery.utils import imports
    if symbol_by_name is None:
        symbol_by_name = imports.symbol_by_name
    if imp is None:
        imp = imports.import_from_cwd
    try:
        sym = symbol_by_name(app, imp=imp)
    except AttributeError:
        if ':' in app:
            # ``module:attr`` names an attribute explicitly: it is missing.
            raise
        # The last dotted part may be a module rather than an attribute.
        sym = imp(app)
    if not isinstance(sym, ModuleType) or ':' in app:
        return sym
    for attr in ('app', 'celery'):
        found = getattr(sym, attr, None)
        if found is not None and not isinstance(found, ModuleType):
            return found
    if getattr(sym, '__path__', None):
        try:
            return find_app(f'{app}.celery', symbol_by_name=symbol_by_name, imp=imp)
        except ModuleNotFoundError as exc:
            if exc.name != f'{app}.celery':
                raise
    for suspect in vars(sym).values():
        if isinstance(suspect, Celery):
            return suspect
    raise AttributeError(
        f'Could not find a Celery app in module {app!r}: define `app = Celery(...)` '
        f'there, or pass -A {app}:<attribute name>')
