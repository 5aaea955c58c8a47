"""The real ClusterState and Scheduler satisfy what the API asks of them (mypy checks the annotated
assignments; the test checks the members exist at run time)."""

from __future__ import annotations

import inspect

from kafka_mesos.api.cluster import ApiCluster
from kafka_mesos.api.control import SchedulerControl
from kafka_mesos.scheduler.scheduler import Scheduler
from kafka_mesos.state import ClusterState


def _typed(cluster: ClusterState, scheduler: Scheduler) -> tuple[ApiCluster, SchedulerControl]:
    return cluster, scheduler


def test_cluster_state_and_scheduler_provide_the_apis_protocols() -> None:
    for cls, protocol in ((ClusterState, ApiCluster), (Scheduler, SchedulerControl)):
        for name, member in inspect.getmembers(protocol):
            if name.startswith("_"):
                continue
            assert hasattr(cls, name), f"{cls.__name__} lacks {name}"
            if inspect.iscoroutinefunction(member):
                assert inspect.iscoroutinefunction(getattr(cls, name)), f"{cls.__name__}.{name} must be async"
