"""A queue server that fails for a moment must not cost a worker its threads.

Huey catches an error reading the queue, logs it and sleeps in the worker's ``sleep``; ours
waits on ``Worker.stop_flag``, which Huey has only since 3.4. On an older Huey that sleep
raised, the thread died for good, and the process kept its heartbeat: a worker that looked
alive and delivered nothing. The floor venv of .ci/run runs this file on huey==3.4.0.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from mcp_push.notifier import Notifier
from mcp_push.tasks.runtime import Runtime
from mcp_push.tasks.worker import Worker
from tests.fakes.ntfy import CASE as NTFY
from tests.helpers import delivery_status, wait_until
from tests.services import postgres_schema, redis_db


@pytest.fixture(params=["sqlite", "redis", "postgres"])
def queue_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    if request.param == "sqlite":
        yield {}
    elif request.param == "redis":
        with redis_db() as url:
            yield {"MCP_PUSH_QUEUE_URL": url}
    else:
        with postgres_schema() as url:
            yield {"MCP_PUSH_DB_URL": url, "MCP_PUSH_QUEUE_URL": url}


def test_worker_threads_survive_a_queue_server_error(queue_env, fake, make_settings) -> None:
    runtime = Runtime.open(make_settings({**NTFY.env(fake.url), **queue_env, "MCP_PUSH_POLL_MAX": "0.05"}))
    worker = Worker(runtime, threads=2)
    huey = runtime.huey
    real_dequeue = huey.dequeue
    failing = threading.Event()
    failing.set()
    failed_in: set[str] = set()

    def flaky_dequeue():  # type: ignore[no-untyped-def]
        if failing.is_set():
            failed_in.add(threading.current_thread().name)
            raise ConnectionError("queue server went away")
        return real_dequeue()

    huey.dequeue = flaky_dequeue  # type: ignore[method-assign]
    worker.start()
    try:
        wait_until(lambda: len(failed_in) >= 2, what="both worker threads to meet the queue error")
        failing.clear()
        receipt = Notifier(runtime).send("Build finished", "after a queue hiccup")
        wait_until(lambda: delivery_status(runtime, receipt.ticket) == "delivered", what="delivery after the hiccup")
        assert all(thread.is_alive() for _, thread in worker.consumer.worker_threads)
    finally:
        huey.dequeue = real_dequeue  # type: ignore[method-assign]
        worker.stop(timeout=2)
        runtime.close()
