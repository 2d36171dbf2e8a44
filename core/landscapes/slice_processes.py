"""Worker processes for the network fast slice's passes.

Two threads running the passes wait for each other's interpreter lock: a pass makes about
a dozen short NumPy calls per block of examples, and each holds the lock for a few
microseconds of setup (a fifth of a digits pass's time, sampled). In one process, two
threads took about 1.3x the time two processes took for the same passes. A worker
process has an interpreter of its own.

The workers are fresh interpreters (``python -c`` importing this module, with the
parent's ``sys.path``), started once and kept. They are not forked: a fork while another
thread is inside a multi-threaded BLAS product hangs the child or the parent (OpenBLAS
shuts its thread pool down at every fork, OpenBLAS issues #2270, #5520), and the app runs
cuts, contours and runs beside its slices. A worker's BLAS library keeps to one thread
(the products are small; the workers are the parallelism).

A slice gives each worker a chunk of examples' :class:`~core.landscapes.network_slice.BlockPasses`
once (the first layer's parts of the examples, the later layers, the loss; no data set),
then passes of points (a, b), whose parameter vectors it makes; it answers each pass with
its sums. Messages are pickles framed by
their length, on the workers' standard input and output. A worker exits when its input
closes (the pool is closed, or the parent process ends).

One slice at a time has the pool (:meth:`SlicePool.lease`); another slice meanwhile uses
threads. A worker that dies or stops answering breaks the pool: the slice finishes on
threads and the next slice starts a new pool.
"""
from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import pickle
import select
import struct
import subprocess
import sys
import threading

_HEADER = struct.Struct("<Q")
# A pass takes milliseconds; a worker silent for this long is taken for lost.
REPLY_TIMEOUT_S = 120.0
# Passes sent ahead to each worker: it starts the next while its answer travels.
IN_FLIGHT = 2
# BLAS libraries' thread counts in a worker (the environment is read when NumPy loads).
_ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class WorkerLost(Exception):
    """A worker process died, closed its output or stopped answering."""


class WorkerError(Exception):
    """A worker's error that could not be sent as itself (its text is the message)."""


def write_message(stream, message):
    """``message`` pickled onto ``stream`` (a raw binary file) after its length."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    for part in (_HEADER.pack(len(data)), data):
        view = memoryview(part)
        while view:
            view = view[stream.write(view):]
    stream.flush()


def _read_exactly(stream, size):
    parts, remaining = [], size
    while remaining:
        part = stream.read(remaining)
        if not part:
            raise EOFError
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def read_message(stream):
    """The next message on ``stream`` (a raw binary file); EOFError at its end."""
    (size,) = _HEADER.unpack(_read_exactly(stream, _HEADER.size))
    return pickle.loads(_read_exactly(stream, size))


def serve(incoming=None, outgoing=None):
    """A worker's loop: ("passes", key, BlockPasses) replaces the passes it holds;
    ("pass", tag, a, b) (points (P,) each) is answered with ("sums", tag, sums (P,)) or
    ("error", tag, exception); the end of ``incoming`` ends it."""
    incoming = incoming or sys.stdin.buffer.raw
    if outgoing is None:   # the answers get the output to themselves: a print goes to nothing
        outgoing = os.fdopen(os.dup(1), "wb", buffering=0)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    passes = None
    while True:
        try:
            message = read_message(incoming)
        except EOFError:
            return
        if message[0] == "passes":
            passes = message[2]
            continue
        _, tag, a, b = message
        try:
            reply = ("sums", tag, passes.sums_at(a, b))
        except Exception as error:   # sent to the parent, which raises it
            reply = ("error", tag, error)
        try:
            write_message(outgoing, reply)
        except (pickle.PicklingError, TypeError, AttributeError):   # an error that does not pickle
            write_message(outgoing, ("error", tag, WorkerError(f"{type(reply[2]).__name__}: {reply[2]}")))


class Worker:
    """One worker process and what the parent knows of it: the passes it holds
    (:attr:`key`) and its passes in flight (tags, in order)."""

    def __init__(self):
        module = __name__   # the parent's name for this module (hillwalk.core... or core...)
        code = f"import sys; sys.path[:0] = {list(sys.path)!r}; import {module} as m; m.main()"
        self.process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, bufsize=0, env={**os.environ, **_ONE_THREAD})
        self.key = None
        self.in_flight = []

    def send(self, message):
        try:
            write_message(self.process.stdin, message)
        except (BrokenPipeError, OSError, ValueError) as error:
            raise WorkerLost(f"slice worker {self.process.pid} is gone ({error})") from error

    def hold(self, key, passes):
        """Give the worker ``passes`` unless it holds them already."""
        if self.key != key:
            self.key = None
            self.send(("passes", key, passes))
            self.key = key

    def submit(self, tag, a, b):
        """Send the worker a pass of points (a, b) (P,) each (small: its pipe never fills)."""
        self.send(("pass", tag, a, b))
        self.in_flight.append(tag)

    def receive(self):
        """The next answer: (tag, sums); a worker's error is raised here."""
        try:
            kind, tag, value = read_message(self.process.stdout)
        except (EOFError, OSError, pickle.UnpicklingError) as error:
            raise WorkerLost(f"slice worker {self.process.pid} stopped answering") from error
        self.in_flight.remove(tag)
        if kind == "error":
            raise value
        return tag, value

    def close(self, wait_s=1.0):
        """Close the worker's input (it exits); kill it if it has not within ``wait_s``."""
        with contextlib.suppress(OSError, ValueError):
            self.process.stdin.close()
        try:
            self.process.wait(wait_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        with contextlib.suppress(OSError, ValueError):
            self.process.stdout.close()


def answers(workers, timeout_s=REPLY_TIMEOUT_S):
    """Wait for the workers with passes in flight; the answers of those that have one:
    a list of (worker, tag, sums). WorkerLost when none answers within ``timeout_s``."""
    waiting = {worker.process.stdout.fileno(): worker for worker in workers if worker.in_flight}
    if not waiting:
        return []
    ready, _, _ = select.select(list(waiting), [], [], timeout_s)
    if not ready:
        raise WorkerLost(f"no slice worker answered within {timeout_s:.0f} s")
    return [(waiting[fd], *waiting[fd].receive()) for fd in ready]


class SlicePool:
    """``count`` worker processes shared by the slices, one slice at a time."""

    def __init__(self, count):
        self.count = count
        self.workers = []
        try:
            for _ in range(count):
                self.workers.append(Worker())
        except OSError:   # no process to be had (limits, memory): the ones started go too
            for worker in self.workers:
                worker.close(wait_s=0.2)
            raise
        self.broken = False
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def lease(self):
        """The workers, or None when another slice has them or the pool is broken."""
        if self.broken or not self._lock.acquire(blocking=False):
            yield None
            return
        try:
            yield self.workers
        except WorkerLost:
            self.break_up()
            raise
        finally:
            self._lock.release()

    def drain(self):
        """Wait for every pass in flight and drop the answers (a slice stopped early; the
        next finds the pipes in step). Errors are dropped with them."""
        while any(worker.in_flight for worker in self.workers):
            for worker in self.workers:
                while worker.in_flight:
                    try:
                        worker.receive()
                    except WorkerLost:
                        raise
                    except Exception:   # noqa: BLE001, S110  (the error of a pass nobody waits for)
                        pass

    def break_up(self):
        """Close every worker; the pool is not used again."""
        self.broken = True
        for worker in self.workers:
            worker.close(wait_s=0.2)

    def close(self):
        for worker in self.workers:
            worker.close()


_POOLS = {}
_POOLS_LOCK = threading.Lock()
_TAGS = itertools.count()
# After this many pools broke (workers that cannot start, or die), slices keep to threads.
MAX_BROKEN_POOLS = 3
_broken_pools = 0


def shared_pool(count) -> SlicePool | None:
    """The process's pool of ``count`` workers, started at the first call (and again
    after one broke); None once :data:`MAX_BROKEN_POOLS` have broken, or where worker
    processes cannot be waited for (not POSIX)."""
    global _broken_pools
    if os.name != "posix":
        return None
    with _POOLS_LOCK:
        pool = _POOLS.get(count)
        if pool is not None and pool.broken:
            _broken_pools += 1
            pool = None
        if pool is None:
            if _broken_pools >= MAX_BROKEN_POOLS:
                return None
            try:
                pool = _POOLS[count] = SlicePool(count)
            except OSError:
                _broken_pools += 1
                return None
        return pool


def next_tag() -> int:
    """A tag no other pass of this process has (passes of a stopped slice are told apart)."""
    return next(_TAGS)


@atexit.register
def close_pools():
    """Close every pool (at the interpreter's exit; tests call it too)."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.close()


def main():
    """A worker process's entry point: SIGINT is the parent's to handle (a Ctrl+C reaches the
    whole process group; the parent then closes the workers' input)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve()
