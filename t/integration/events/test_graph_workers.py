"""``celery graph workers`` draws the real cluster found through ``inspect stats``."""
from __future__ import annotations

from t.conftest import REDIS_BACKEND_URL, REDIS_URL
from t.integration.events.evcluster import CeleryProcess, WorkerProcess, new_unique
from t.unit.bin.test_graph import parse_dot


def test_graph_of_running_workers_is_valid_dot() -> None:
    unique = new_unique()
    workers = [WorkerProcess(REDIS_URL, unique, name, '-c', '2', pool='prefork')
               for name in ('g1', 'g2')]
    try:
        for worker in workers:
            worker.wait_ready()
        command = CeleryProcess(REDIS_URL, unique, 'graph', 'graph', 'workers')
        assert command.proc.wait(30) == 0, command.output()
        output = command.output()
        command.stop()
        nodes, edges = parse_dot(output)
        hostnames = {worker.hostname for worker in workers}
        assert hostnames <= nodes
        assert {(name, REDIS_BACKEND_URL) for name in hostnames} <= set(edges)
        process_edges = [edge for edge in edges if edge[1] in hostnames
                         and edge[0].startswith('thr-')]
        assert len(process_edges) == 4, edges
    finally:
        for worker in workers:
            worker.stop()
