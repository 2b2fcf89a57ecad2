"""The tests of relcore.dask run on worker processes, not in the test's own process."""

from __future__ import annotations

import os

import pytest

distributed = pytest.importorskip("distributed")

import relcore.dask as rdask  # noqa: E402


def test_the_cluster_has_two_worker_processes(client):
    pids = client.run(os.getpid)
    assert len(pids) == 2
    assert os.getpid() not in pids.values()
    assert len(set(pids.values())) == 2


def test_relcores_partition_work_runs_on_the_workers(client, events, split, end):
    with distributed.get_task_stream(client) as stream:
        rdask.summarize(split(events, 4), observation_end=end).compute()
    workers = {task["worker"] for task in stream.data}
    assert workers
    assert workers <= set(client.scheduler_info()["workers"])
