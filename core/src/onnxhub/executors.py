"""Where an inventory's models are converted: local worker processes, or a Dask cluster.

``run(name, fn, tasks, jobs=..., scheduler=...)`` yields ``fn(task)`` for every task as
each finishes. ``fn`` is a module-level function taking and returning plain JSON data
(``onnxhub.inventory.convert_task``), so every executor ships it the same way; it never
raises for a model's own failure.

- ``local``: ``jobs`` worker processes of this machine (``spawn``: a clean interpreter
  each). A worker that dies (a framework crash) fails only the model it held: the pool
  is rebuilt and the others go on. Workers exit when the hub process is gone (killed), and
  Ctrl-C / SIGTERM of the hub stops them.
- ``dask``: a ``distributed`` cluster, imported only here and only when chosen
  (``pip install 'onnxhub[dask]'``). Without ``scheduler`` a ``LocalCluster`` of ``jobs``
  single-threaded worker processes is started for the run; with ``scheduler``
  (``tcp://host:8786``) the tasks go to that running cluster, whose workers need onnxhub,
  the plugins and runtimes installed (``onnxhub runtime install``) and the model files at
  the same paths (a shared file system).
"""

from __future__ import annotations

import os
import threading

EXECUTORS = ("local", "dask")


def run(name: str, fn, tasks: list[dict], *, jobs: int = 1, scheduler: str | None = None):
    if not tasks:
        return (_ for _ in ())
    if name == "local":
        return _local(fn, tasks, jobs)
    if name == "dask":
        return _dask(fn, tasks, jobs, scheduler)
    from .errors import UsageError

    raise UsageError(f"--executor must be one of {', '.join(EXECUTORS)}, not {name!r}")


# -- local worker processes ---------------------------------------------------------------
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _worker_init(parent: int, jobs: int = 1) -> None:
    """In each worker: Ctrl-C is the hub's to handle, and the worker ends when the hub is gone.

    With several workers, each keeps its numeric libraries to one thread (unless the user
    set otherwise), so ``-j N`` runs N models on N cores instead of N x cores threads.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_sigterm)
    if jobs > 1:
        for name in THREAD_VARIABLES:
            os.environ.setdefault(name, "1")

    def watch():
        import time

        while True:
            time.sleep(0.5)
            if os.getppid() != parent:  # re-parented: the hub was killed
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="onnxhub-parent-watch").start()


class _WorkerTerminated(BaseException):
    """SIGTERM in a worker (the hub stopping its pool): unwinds the task so its staging is removed."""


_IN_TASK = False


def _worker_sigterm(signum, frame):
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if not _IN_TASK:
        os._exit(128 + signum)  # idle: nothing of ours to clean up
    raise _WorkerTerminated()


def _tracked(fn, task: dict, mark: str):
    """``fn(task)`` with a file ``mark`` present while it runs: a pool that breaks tells which tasks it held.

    SIGTERM during the task unwinds it (every ``finally`` removes its staging) and then ends
    the worker; the hub's ``_stop`` waits for that.
    """
    global _IN_TASK
    with open(mark, "w"):
        pass
    _IN_TASK = True
    try:
        return fn(task)
    except _WorkerTerminated:
        _unlink(mark)
        os._exit(143)
    finally:
        _IN_TASK = False
        _unlink(mark)


def _unlink(path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _sweep_job_folders() -> None:
    """Remove ``onnxhub-jobs-PID-*`` folders of this user whose hub process is gone (killed)."""
    import glob
    import re
    import shutil
    import tempfile

    uid = os.getuid()
    for folder in glob.glob(os.path.join(tempfile.gettempdir(), "onnxhub-jobs-*")):
        m = re.fullmatch(r"onnxhub-jobs-(\d+)-\w+", os.path.basename(folder))
        try:
            if not m or os.stat(folder, follow_symlinks=False).st_uid != uid or _alive(int(m.group(1))):
                continue
        except OSError:
            continue
        shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _local(fn, tasks, jobs):
    """Yield ``fn(task)`` per task from ``jobs`` worker processes.

    A worker that dies breaks the whole ``ProcessPoolExecutor``: every task it had started
    (a marker file says which) is retried once alone in a fresh pool, and fails if it
    kills that one too; tasks not yet started just go to the next pool.
    """
    import multiprocessing
    import shutil
    import tempfile
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")
    _sweep_job_folders()
    marks = tempfile.mkdtemp(prefix=f"onnxhub-jobs-{os.getpid()}-")
    queue = [(task, False) for task in tasks]  # (task, alone: a suspect retried in a pool of its own)
    try:
        while queue:
            alone = [item for item in queue if item[1]]
            batch = alone[:1] if alone else queue
            queue = [item for item in queue if item not in batch]
            pool = ProcessPoolExecutor(max_workers=max(1, min(jobs, len(batch))), mp_context=context,
                                       initializer=_worker_init, initargs=(os.getpid(), jobs))
            try:
                futures = {}
                for i, (task, isolated) in enumerate(batch):
                    mark = os.path.join(marks, str(i))
                    futures[pool.submit(_tracked, fn, task, mark)] = (task, isolated, mark)
                waiting = set(futures)
                while waiting:
                    done, waiting = wait(waiting, return_when=FIRST_COMPLETED)
                    for fut in done:
                        task, isolated, mark = futures[fut]
                        try:
                            result = fut.result()
                        except BrokenProcessPool:
                            started = os.path.exists(mark)
                            if started and isolated:
                                yield _crashed(task, "the worker process converting it died")
                            else:
                                queue.append((task, started))
                            continue
                        yield result
            finally:
                _stop(pool)
                for name in os.listdir(marks):
                    os.unlink(os.path.join(marks, name))
    finally:
        shutil.rmtree(marks, ignore_errors=True)


def _stop(pool) -> None:
    """Shut the pool down at once: queued tasks cancelled, running workers terminated."""
    processes = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        if p.is_alive():
            p.terminate()
    for p in processes:
        p.join(timeout=30)  # a terminated worker first unwinds its task (its staging removed)
        if p.is_alive():
            p.kill()
            p.join(timeout=5)


def _crashed(task: dict, why: str) -> dict:
    return {"name": task["name"], "files": task["files"], "status": "failed", "error": why, "differences": None,
            "seconds": None}


# -- Dask ------------------------------------------------------------------------------------
_NEEDS_DASK = "--executor dask needs Dask: pip install 'onnxhub[dask]' (dask[distributed])"
SCHEDULER_WAIT = 20.0  # seconds: connect, handshake and an identity reply, each bounded within it


def check_scheduler_address(address: str) -> None:
    """A one-line usage error for an address that cannot be one (no Dask import, no network)."""
    import re

    from .errors import UsageError

    m = re.fullmatch(r"(?:(tcp|tls)://)?(\[[0-9A-Fa-f:.]+\]|[^:/\s\[\]]+):([^:/\s]*)/?", address)
    if not m:
        raise UsageError(f"--scheduler must be an address like tcp://HOST:PORT, not {address!r}")
    port = m.group(3)
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise UsageError(f"--scheduler {address}: the port must be a number from 1 to 65535, not {port!r}")


def probe_scheduler(address: str, wait: float = SCHEDULER_WAIT) -> None:
    """Check that a Dask scheduler answers at ``address``, within ``wait`` seconds in all.

    ``distributed.Client`` waits without bound on a peer that accepts the connection but
    never speaks Dask (an HTTP server, a silent socket); here each step is cut off by
    ``asyncio.wait_for``, and the peer must say it is a scheduler.
    """
    import asyncio

    from .errors import UsageError

    try:
        from distributed.comm import connect
    except ImportError:
        raise UsageError(_NEEDS_DASK) from None

    async def identity():
        comm = await connect(address, timeout=wait)
        try:
            await comm.write({"op": "identity"})
            return await comm.read()
        finally:
            comm.abort()

    try:
        reply = asyncio.run(asyncio.wait_for(identity(), wait))
    except (TimeoutError, asyncio.TimeoutError):
        raise UsageError(f"cannot reach the Dask scheduler {address}: no Dask reply within {wait:g} s "
                         f"(is something else listening on that port?)") from None
    except Exception as exc:  # noqa: BLE001 -- refused, reset, garbage: all one line
        raise UsageError(f"cannot reach the Dask scheduler {address}: {type(exc).__name__}: {exc}") from None
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        raise UsageError(f"cannot reach the Dask scheduler {address}: what answers there is not a Dask "
                         f"scheduler")


def _dask(fn, tasks, jobs, scheduler):
    from .errors import UsageError

    try:
        import logging

        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise UsageError(_NEEDS_DASK) from None
    cluster = None
    try:
        if scheduler:
            check_scheduler_address(scheduler)
            probe_scheduler(scheduler)
            try:
                client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise UsageError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
        else:
            cluster = LocalCluster(n_workers=max(1, jobs), threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise UsageError(f"cannot start a Dask cluster: {type(exc).__name__}: {exc}") from None
    try:
        futures = {client.submit(fn, task, pure=False, key=f"onnxhub-convert-{task['name']}-{os.getpid()}"): task
                   for task in tasks}
        for fut in as_completed(list(futures)):
            task = futures[fut]
            try:
                yield fut.result()
            except Exception as exc:  # noqa: BLE001 -- a worker that died (KilledWorker) fails its model only
                yield _crashed(task, f"Dask worker failed: {type(exc).__name__}: {exc}")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
