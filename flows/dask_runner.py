"""The Dask task runner of a cluster the flow starts itself: started beside the flow's first steps, warm.

Prefect's ``DaskTaskRunner`` starts its cluster when the first task is submitted, so the cluster's
start-up (spawning the workers) and each worker's first import of Prefect's task engine and of the
task modules (a few seconds each) come after the flow has loaded the dataset, one after the other.
:class:`StartedDaskTaskRunner` starts the cluster in a background thread as soon as the flow run
begins, while the flow process loads the dataset, and every worker imports those modules while it
starts (a Dask worker preload), before it takes any task.
"""

from __future__ import annotations

import pkgutil
import threading
from typing import Any

from prefect_dask import DaskTaskRunner


def task_modules() -> list[str]:
    """What a worker imports before its first task: Prefect's task engine and every module of ``tasks``."""
    import tasks

    return ["prefect.task_engine", *(f"tasks.{module.name}" for module in pkgutil.iter_modules(tasks.__path__))]


def in_dask_worker() -> bool:
    """Whether this code runs in a Dask worker (a task's process)."""
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True


class StartedDaskTaskRunner(DaskTaskRunner):
    """A ``DaskTaskRunner`` whose own cluster starts when the flow run begins, in the background.

    The first use of :attr:`client` (the first submitted task) waits for the start and raises its
    error, if any. Only for a cluster the runner creates: with ``address`` (or a ``cluster``) it is
    Prefect's runner. :func:`flows.settings.with_task_runner` has the workers preload
    :func:`task_modules`.
    """

    _starting: threading.Thread | None = None
    _start_error: BaseException | None = None

    def __enter__(self):
        super().__enter__()
        # Prefect enters a copy of the flow's runner in every task run on a worker: that one never starts a cluster.
        if self.address is None and self._cluster is None and not in_dask_worker():
            self._starting = threading.Thread(target=self._start, name="dprune-dask-start", daemon=True)
            self._starting.start()
        return self

    def _start(self) -> None:
        try:
            DaskTaskRunner.client.fget(self)
        except BaseException as error:  # raised in the flow's thread by `client`
            self._start_error = error

    @property
    def client(self) -> Any:
        """The Dask client, once the background start has finished."""
        if self._starting is not None:
            self._starting.join()
        if self._start_error is not None:
            raise self._start_error
        return super().client

    def __exit__(self, *args: Any) -> None:
        if self._starting is not None:  # a flow that ends before its first task still closes the cluster
            self._starting.join()
        super().__exit__(*args)
