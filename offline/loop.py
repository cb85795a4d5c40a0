"""The event loop a program runs on under Pulumi's mocks (offline/mocks.py), made for speed.

The SDK is written for a real engine across gRPC; in one process with mocks, three of the things
it does for that only cost time: a thread hop per engine call, a walk of the Python stack per
registration, and (for ending a run) a walk over every task of the process.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime.proto import source_pb2


def mock_engine_loop(tasks: list[asyncio.Task[Any]]) -> asyncio.AbstractEventLoop:
    """A new event loop whose engine calls run inline, that lists its tasks in `tasks` and does
    not reprint a refusal as unretrieved futures."""
    loop = asyncio.new_event_loop()
    loop.set_task_factory(_keeping_tasks(tasks))
    loop.set_default_executor(_InlineExecutor())
    loop.set_exception_handler(_quiet_about_unretrieved)
    return loop


class _InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs each call at once on the event loop's own thread.

    The SDK sends every engine call (register, invoke, export) through the loop's executor, so a
    real gRPC round trip does not block the loop. Under mocks the "engine" is Python objects in
    this process that answer at once, so the thread hop is pure cost: about half of a program
    run. The SDK's mock monitor finishes its own async work with `_sync_await`, which in a pool
    thread runs on that thread's event loop: here it gets a side loop of its own the same way,
    so it never re-enters the program's running loop.
    """

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self._side_loop = asyncio.new_event_loop()

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        running = asyncio.events._get_running_loop()
        asyncio.events._set_running_loop(None)
        asyncio.set_event_loop(self._side_loop)
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the awaiting coroutine, as the pool would
            future.set_exception(exc)
        finally:
            asyncio.set_event_loop(running)
            asyncio.events._set_running_loop(running)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._side_loop.close()
        super().shutdown(wait, cancel_futures=cancel_futures)


@contextlib.contextmanager
def without_source_positions() -> Iterator[None]:
    """The SDK walks the Python stack at every registration to tell the CLI where a resource was
    declared. The mock monitor never shows it, and the walk is a fifth of a run: skip it here."""
    saved = pulumi_resource._get_stack_trace
    pulumi_resource._get_stack_trace = source_pb2.StackTrace  # an empty trace
    try:
        yield
    finally:
        pulumi_resource._get_stack_trace = saved


def _keeping_tasks(into: list[asyncio.Task[Any]]) -> Callable[..., asyncio.Task[Any]]:
    """A task factory that lists the tasks of one run's loop, so the run ends exactly those
    (asyncio.all_tasks walks every task of the process not yet collected)."""

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        task = asyncio.Task(coro, loop=loop, **kwargs)
        into.append(task)
        return task

    return factory


def _quiet_about_unretrieved(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """A refused program leaves the refusal in many outputs' futures; `run` raises it once to its
    caller. When those futures are collected later (at exit, when collections are rare), asyncio
    would print each again as "never retrieved": those are dropped; anything else is reported."""
    if str(context.get("message", "")).endswith("exception was never retrieved"):
        return
    loop.default_exception_handler(context)
