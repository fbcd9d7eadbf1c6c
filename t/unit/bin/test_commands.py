"""The small commands: upgrade, purge, call, report."""
from __future__ import annotations


def test_upgrade_settings_renames_and_backs_up(run, tmp_path):
    config = tmp_path / 'celeryconfig.py'
    config.write_text('BROKER_URL = "amqp://"\nCELERYD_CONCURRENCY = 4\nOTHER = 1\n')
    result = run('upgrade', 'settings', str(config))
    assert result.exit_code == 0, result.output
    assert config.read_text() == 'broker_url = "amqp://"\nworker_concurrency = 4\nOTHER = 1\n'
    assert (tmp_path / 'celeryconfig.py.orig').read_text().startswith('BROKER_URL')


def test_upgrade_settings_django_style(run, tmp_path):
    config = tmp_path / 'settings.py'
    config.write_text('BROKER_TRANSPORT_OPTIONS = {}\n')
    result = run('upgrade', 'settings', str(config), '--django', '--no-backup')
    assert result.exit_code == 0, result.output
    assert config.read_text() == 'CELERY_BROKER_TRANSPORT_OPTIONS = {}\n'
    assert not (tmp_path / 'settings.py.orig').exists()


def test_upgrade_settings_nothing_to_do(run, tmp_path):
    config = tmp_path / 'c.py'
    config.write_text('broker_url = "x"\n')
    result = run('upgrade', 'settings', str(config))
    assert 'Does not seem to require any changes' in result.output


def test_upgrade_missing_file(run, tmp_path):
    result = run('upgrade', 'settings', str(tmp_path / 'missing.py'))
    assert result.exit_code != 0
    assert 'missing.py' in result.output


def test_purge_counts_discarded_messages(run, app, unique):
    queue = f'purge-{unique}'
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        channel.queue_declare(queue)
        for _ in range(3):
            channel.basic_publish(channel.prepare_message('x'), exchange='', routing_key=queue)
    result = run('purge', '-f', '-Q', queue)
    assert result.exit_code == 0, result.output
    assert 'Purged 3 messages from 1 known task queue.' in result.output


def test_purge_asks_for_confirmation(run, unique):
    result = run('purge', '-Q', f'q-{unique}', input='n\n')
    assert result.exit_code == 1
    assert 'Are you sure' in result.output and 'Aborted' in result.output


def test_report_prints_bugreport(run):
    result = run('report')
    assert result.exit_code == 0, result.output
    assert 'celery' in result.output.lower()
