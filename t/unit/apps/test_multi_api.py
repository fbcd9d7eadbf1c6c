"""``celery.apps.multi`` and ``celery.bin.multi`` as a library: nodes, clusters, the tool."""
from __future__ import annotations

import io
import signal
import sys

import pytest

from celery.apps import multi as apps_multi
from celery.apps.multi import (
    CELERY_EXE,
    Cluster,
    MultiParser,
    NamespacedOptionParser,
    Node,
    build_expander,
    celery_exe,
    maybe_call,
)
from celery.bin import multi as bin_multi
from celery.bin.multi import MultiTool, TermLogger


class Recorder:
    """Collects every callback a cluster makes, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __getattr__(self, name: str):
        if not name.startswith('on_'):
            raise AttributeError(name)
        return lambda *args, **kwargs: self.calls.append((name, *args))

    def names(self) -> list[str]:
        return [call[0] for call in self.calls]

    def callbacks(self) -> dict:
        names = ['on_stopping_preamble', 'on_send_signal', 'on_still_waiting_for', 'on_still_waiting_progress', 'on_still_waiting_end', 'on_node_start', 'on_node_restart', 'on_node_shutdown_ok', 'on_node_status', 'on_node_signal', 'on_node_signal_dead', 'on_node_down', 'on_child_spawn', 'on_child_signalled', 'on_child_failure']
        return {name: getattr(self, name) for name in names}


def test_module_helpers():
    assert CELERY_EXE == 'celery'
    assert celery_exe('worker', '--detach') == 'celery worker --detach'
    assert maybe_call(None, 1) is None and maybe_call(max, 1, 2) == 2
    expand = build_expander('w1@example.com', 'w1', 'example.com')
    assert expand('%n|%h|%d|%N|%i|%I') == 'w1|w1@example.com|example.com|w1|%i|%I'
    assert apps_multi.IS_WINDOWS is (sys.platform == 'win32')
    assert MultiParser.Node is Node and MultiParser().cmd == 'celery worker'


def test_node_from_kwargs_and_command_line():
    node = Node.from_kwargs('w1@h', concurrency=4, max_tasks_per_child=10, Q='a')
    assert node.options['--concurrency'] == '4' and node.options['-Q'] == 'a'
    assert node.options['--max-tasks-per-child'] == '10'
    assert node.executable == sys.executable
    assert node.argv[0] == '-m celery worker --detach'
    assert node.argv_with_executable == (sys.executable, *node.argv)
    assert node.prepare_argv(['-m celery', '-n w1@h'], '/bin/py') == [
        '/bin/py', '-m', 'celery', '-n', 'w1@h']
    # A --cmd naming a program runs without the Python interpreter in front.
    assert Node('w1@h', cmd='celery worker').argv_with_executable[0] == 'celery worker'


def test_node_start_reports_spawn_failure_and_signal():
    seen = Recorder()
    ok = Node('w1@h', cmd='true')
    assert ok.start(on_spawn=seen.on_child_spawn, on_failure=seen.on_child_failure) == 0
    assert seen.calls[0][0] == 'on_child_spawn' and seen.calls[0][1] is ok
    failed = Node('w2@h', cmd='false')
    assert failed.start(on_failure=seen.on_child_failure) == 1
    assert seen.calls[-1] == ('on_child_failure', failed, 1)
    assert failed.handle_process_exit(-9, on_signalled=seen.on_child_signalled) == 9
    assert seen.calls[-1] == ('on_child_signalled', failed, 9)


def test_node_send_calls_on_error_when_not_running(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    node = Node('w1@h')
    dead = []
    assert node.send(signal.SIGTERM, on_error=dead.append) is False
    assert dead == [node]


def test_cluster_is_a_list_of_nodes():
    nodes = [Node('a@h'), Node('b@h')]
    cluster = Cluster(nodes)
    assert cluster.data == nodes and len(cluster) == 2 and cluster[1].name == 'b@h'
    assert cluster.find('b@h') is nodes[1]
    with pytest.raises(KeyError):
        cluster.find('c@h')


def test_cluster_start_reports_each_node():
    seen = Recorder()
    cluster = Cluster([Node('a@h', cmd='true'), Node('b@h', cmd='false')],
                      **seen.callbacks())
    assert cluster.start() == [0, 1]
    assert seen.names() == ['on_node_start', 'on_child_spawn', 'on_node_status',
                            'on_node_start', 'on_child_spawn', 'on_child_failure',
                            'on_node_status']


def test_getpids_skips_nodes_without_pid(running_w1):
    down = []
    cluster = Cluster([Node('w1@h'), Node('w2@h')])
    assert [n.name for n in cluster.getpids(on_down=down.append)] == ['w1@h']
    assert [n.name for n in down] == ['w2@h']


def test_stop_without_retry_signals_and_returns(running_w1):
    seen = Recorder()
    Cluster([Node('w1@h')], **seen.callbacks()).stop()
    assert running_w1.wait(10) == -signal.SIGTERM
    assert seen.names() == ['on_stopping_preamble', 'on_send_signal']
    assert seen.calls[1][2] == 'TERM'


def test_stopwait_waits_until_the_node_is_gone(running_w1):
    seen = Recorder()
    gone = []
    Cluster([Node('w1@h')], **seen.callbacks()).stopwait(retry=0.1, callback=gone.append,
                                                         sig=signal.SIGINT)
    assert running_w1.poll() == -signal.SIGINT
    assert [n.name for n in gone] == ['w1@h']
    names = seen.names()
    assert names[:3] == ['on_stopping_preamble', 'on_send_signal', 'on_still_waiting_for']
    assert 'on_node_shutdown_ok' in names and names[-1] == 'on_still_waiting_end'


def test_restart_starts_each_node_again_once_down(running_w1):
    seen = Recorder()
    cluster = Cluster([Node('w1@h', cmd='true')], **seen.callbacks())
    assert cluster.restart() == [0]
    assert running_w1.poll() == -signal.SIGTERM
    assert seen.names().index('on_node_restart') < seen.names().index('on_node_start')


def test_kill_signals_running_nodes_and_reports_the_others(running_w1):
    seen = Recorder()
    Cluster([Node('w1@h'), Node('w2@h')], **seen.callbacks()).kill()
    assert running_w1.wait(10) == -signal.SIGKILL
    assert [(name, node.name, *rest) for name, node, *rest in seen.calls] == [
        ('on_node_signal', 'w1@h', 'KILL'), ('on_node_down', 'w2@h')]


def test_shutdown_waits_within_a_timeout(running_w1):
    assert Cluster([Node('w1@h')]).shutdown(sig=signal.SIGCONT, timeout=0.3,
                                            interval=0.05) is False
    assert Cluster([Node('w1@h')]).shutdown(timeout=10, interval=0.05) is True
    assert running_w1.poll() == -signal.SIGTERM


def test_term_logger_levels_and_banner():
    out, err = io.StringIO(), io.StringIO()
    logger = TermLogger()
    logger.setup_terminal(out, err, quiet=True, no_color=True)
    logger.note('hidden')
    logger.info('hidden too')
    assert logger.ok('shown') == 0 and out.getvalue() == 'shown\n'
    assert logger.error('bad') == 1 and logger.retcode == 1
    assert err.getvalue().startswith('bad\nusage:')
    logger.setup_terminal(out, err, verbose=True, no_color=True)
    logger.info('details', newline=False)
    logger.splash()
    assert out.getvalue().endswith('details' + TermLogger.splash_text.format(
        **TermLogger.splash_context) + '\n')
    assert TermLogger.splash_context['version'] == bin_multi.VERSION_BANNER


def test_multitool_reserved_options_and_plain_colours():
    tool = MultiTool(stdout=io.StringIO())
    assert ('--no-color', 'no_color') in MultiTool.reserved_options
    tool.execute_from_commandline(['multi', 'names', 'a@h', '--quiet', '--no-color'])
    assert tool.quiet and tool.no_color
    assert (tool.OK, tool.FAILED, tool.DOWN) == ('OK', 'FAILED', 'DOWN')
    assert MultiTool.MultiParser is MultiParser
    assert MultiTool.OptionParser is NamespacedOptionParser


def test_multitool_cluster_uses_the_tool_callbacks():
    tool = MultiTool(stdout=io.StringIO())
    cluster = tool.cluster_from_argv(['a@h', '-c', '2'])
    assert isinstance(cluster, Cluster) and cluster.on_node_down == tool.on_node_down
    assert cluster[0].options['-c'] == '2'
    assert tool.Cluster([Node('x@h')]).on_child_failure == tool.on_child_failure


def test_multitool_validate_and_call_command():
    out = io.StringIO()
    tool = MultiTool(stdout=out, stderr=out)
    assert tool.validate_arguments(['start']) and not tool.validate_arguments(['-x'])
    assert not tool.validate_arguments([])
    assert tool.execute_from_commandline(['multi', '--foo']) == 1
    assert tool.call_command('names', ['a@h']) == 0 and out.getvalue().endswith('a@h\n')
    assert tool.get('b@h', 'a@h', 'b@h') == 0 and ' -n b@h' in out.getvalue()
    assert tool.get('zz@h', 'a@h') == 1


def test_multitool_start_output(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    tool = MultiTool(stdout=out, stderr=out, no_color=True, cmd='false')
    assert tool.execute_from_commandline(['multi', 'start', 'a@h']) == 1
    text = out.getvalue()
    assert text.startswith('celery multi v') and '> Starting nodes...' in text
    assert '\t> a@h: * Child terminated with exit code 1\nFAILED' in text


def test_multitool_stopwait_output(running_w1):
    out = io.StringIO()
    tool = MultiTool(stdout=out, nosplash=True, no_color=True)
    tool.execute_from_commandline(['multi', 'stopwait', 'w1@h', 'w2@h'])
    text = out.getvalue()
    assert '> w2@h: DOWN' in text and f'\t> w1@h: TERM -> {running_w1.pid}' in text
    assert f'> Waiting for 1 node -> {running_w1.pid}...' in text and '\t> w1@h: OK' in text


def test_main_runs_the_tool_on_sys_argv(monkeypatch, capsys):
    monkeypatch.setattr(sys, 'argv', ['celery-multi', 'names', 'a@h'])
    with pytest.raises(SystemExit) as exc:
        bin_multi.main()
    assert exc.value.code == 0 and capsys.readouterr().out == 'a@h\n'
