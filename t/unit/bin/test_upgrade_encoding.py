"""``celery upgrade settings`` writes the file back as it found it: line endings, encoding."""
from __future__ import annotations


def test_crlf_stays_crlf(run, tmp_path):
    config = tmp_path / 'celeryconfig.py'
    config.write_bytes(b'BROKER_URL = "amqp://"\r\nCELERYD_CONCURRENCY = 4\r\nOTHER = 1\n')
    result = run('upgrade', 'settings', str(config), '--no-backup')
    assert result.exit_code == 0, result.output
    assert config.read_bytes() == (
        b'broker_url = "amqp://"\r\nworker_concurrency = 4\r\nOTHER = 1\n')


def test_coding_cookie_encoding_is_kept(run, tmp_path):
    config = tmp_path / 'celeryconfig.py'
    source = '# -*- coding: latin-1 -*-\nBROKER_URL = "amqp://"  # caf\xe9\n'
    config.write_bytes(source.encode('latin-1'))
    result = run('upgrade', 'settings', str(config), '--no-backup')
    assert result.exit_code == 0, result.output
    expected = '# -*- coding: latin-1 -*-\nbroker_url = "amqp://"  # caf\xe9\n'
    assert config.read_bytes() == expected.encode('latin-1')


def test_utf8_bom_is_kept(run, tmp_path):
    config = tmp_path / 'celeryconfig.py'
    config.write_bytes(b'\xef\xbb\xbfBROKER_URL = "x"  # \xe2\x9c\x93\r\n')
    result = run('upgrade', 'settings', str(config), '--no-backup')
    assert result.exit_code == 0, result.output
    assert config.read_bytes() == b'\xef\xbb\xbfbroker_url = "x"  # \xe2\x9c\x93\r\n'


def test_undecodable_file_is_a_clear_error(run, tmp_path):
    config = tmp_path / 'celeryconfig.py'
    config.write_bytes(b'BROKER_URL = "\xff\xfe"\n')
    result = run('upgrade', 'settings', str(config))
    assert result.exit_code != 0
    assert 'celeryconfig.py' in result.output and 'decode' in result.output
    assert config.read_bytes() == b'BROKER_URL = "\xff\xfe"\n'
