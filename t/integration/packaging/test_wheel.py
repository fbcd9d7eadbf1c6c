"""The package as users install it: a wheel, its extras, in a clean virtual environment."""
from __future__ import annotations

import email
import subprocess
import sys
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

from t.servers import REDIS_BACKEND_URL, REDIS_URL

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow

#: What each extra must bring in (a distribution name per extra, at least).
EXTRA_BRINGS = {
    'auth': 'cryptography', 'redis': 'redis', 'sqlalchemy': 'sqlalchemy',
    'msgpack': 'msgpack', 'yaml': 'pyyaml', 'memcache': 'pymemcache',
    'pymemcache': 'pymemcache', 'eventlet': 'eventlet', 'gevent': 'gevent',
    'pytest': 'pytest', 'django': 'django', 'solar': 'ephem', 'tblib': 'tblib',
    'zstd': 'zstandard', 'brotli': 'brotli', 'pydantic': 'pydantic', 'sqs': 'kombu',
}


@pytest.fixture(scope='module')
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp('wheel')
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '-w', str(out),
                    str(ROOT)], check=True, capture_output=True)
    (built,) = out.glob('celery-*.whl')
    return built


def wheel_metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith('.dist-info/METADATA'))
        return email.message_from_bytes(archive.read(name))


def test_wheel_declares_every_extra_and_the_libraries_the_code_imports(wheel: Path) -> None:
    import celery
    meta = wheel_metadata(wheel)
    assert meta['Version'] == celery.__version__
    requires = [req.lower() for req in meta.get_all('Requires-Dist')]
    core = [req for req in requires if 'extra ==' not in req]
    for name in ('kombu', 'amqp', 'billiard', 'vine', 'click', 'python-dateutil', 'tzdata'):
        assert any(req.startswith(name) for req in core), name
    extras = set(meta.get_all('Provides-Extra'))
    assert set(EXTRA_BRINGS) <= extras
    for extra, dist in EXTRA_BRINGS.items():
        assert any(req.startswith(dist) and f'extra == "{extra}"' in req for req in requires), extra
    # kombu's Redis transport imports more than redis-py: its own extra brings it.
    assert any(req.startswith('kombu[redis]') and 'extra == "redis"' in req for req in requires)


ROUND_TRIP = textwrap.dedent('''
    import subprocess, sys, uuid
    from celery import Celery

    queue = f'wheel-{uuid.uuid4().hex[:12]}'
    app = Celery('wheelcheck', broker=BROKER, backend=BACKEND)
    app.conf.task_default_queue = queue

    @app.task(name='wheelcheck.add')
    def add(x, y):
        return x + y

    if sys.argv[1:2] == ['worker']:
        app.worker_main(['worker', '-P', 'solo', '-Q', sys.argv[2], '-n', f'{sys.argv[2]}@%h',
                         '--without-mingle',
                         '--without-gossip', '--without-heartbeat', '-l', 'WARNING'])
    else:
        worker = subprocess.Popen([sys.executable, __file__, 'worker', queue])
        try:
            print('result', add.delay(2, 3).get(timeout=60))
        finally:
            worker.terminate()
            worker.wait(30)
''')


def test_redis_round_trip_with_only_the_redis_extra(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / 'venv'
    venv.create(env_dir, with_pip=True)
    python = env_dir / 'bin' / 'python'
    subprocess.run([str(python), '-m', 'pip', 'install', '-q', f'{wheel}[redis]'],
                   check=True, capture_output=True, timeout=600)
    script = tmp_path / 'roundtrip.py'
    script.write_text(f'BROKER = {REDIS_URL!r}\nBACKEND = {REDIS_BACKEND_URL!r}\n{ROUND_TRIP}')
    done = subprocess.run([str(python), str(script)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'result 5' in done.stdout, done.stdout + done.stderr


#: Extras installed together into one clean venv, and a use of each feature.
FEATURE_EXTRAS = ('auth', 'msgpack', 'yaml', 'sqlalchemy', 'memcache', 'tblib', 'zstd',
                  'brotli', 'pydantic', 'solar', 'django', 'postgresql', 'pytest', 'gevent',
                  'eventlet')

USE_EACH_FEATURE = textwrap.dedent('''
    import kombu.compression, kombu.serialization
    from celery import Celery
    from celery.schedules import solar

    app = Celery('features', broker='memory://', backend='db+sqlite:///results.sqlite')
    app.conf.update(task_serializer='msgpack', result_serializer='msgpack',
                    accept_content=['msgpack', 'yaml', 'json'])
    for serializer in ('msgpack', 'yaml'):
        content_type, encoding, data = kombu.serialization.dumps({'a': 1}, serializer)
        accept = {content_type}
        assert kombu.serialization.loads(data, content_type, encoding, accept=accept) == {'a': 1}
    for method in ('zstd', 'brotli'):
        body, content_type = kombu.compression.compress(b'x' * 100, method)
        assert kombu.compression.decompress(body, content_type) == b'x' * 100
    app.backend.store_result('t1', 5, 'SUCCESS')  # SQLAlchemy, SQLite
    assert app.AsyncResult('t1').get() == 5
    Celery('cache', backend='cache+memcached://127.0.0.1:1/').backend.client  # pymemcache
    from celery.security.certificate import Certificate  # cryptography
    import celery.result
    assert celery.result.tblib is not None
    import pydantic

    class Point(pydantic.BaseModel):
        x: int

    @app.task(pydantic=True)
    def norm(point: Point) -> int:
        return point.x

    assert norm.apply(({'x': 3},)).get() == 3
    solar('sunrise', 0, 0, app=app).remaining_estimate  # ephem
    import celery.fixups.django, django, psycopg2, pytest, gevent, eventlet
    from celery.concurrency import get_implementation
    get_implementation('gevent'); get_implementation('eventlet')
    print('every feature works')
''')


def test_each_extra_installs_what_its_feature_needs(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / 'venv'
    venv.create(env_dir, with_pip=True)
    python = env_dir / 'bin' / 'python'
    extras = ','.join(FEATURE_EXTRAS)
    subprocess.run([str(python), '-m', 'pip', 'install', '-q', f'{wheel}[{extras}]'],
                   check=True, capture_output=True, timeout=900)
    script = tmp_path / 'features.py'
    script.write_text(USE_EACH_FEATURE)
    done = subprocess.run([str(python), str(script)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'every feature works' in done.stdout
