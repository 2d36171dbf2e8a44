"""Worker processes for the network fast slice's passes.

Two threads running the passes wait for each other's interpreter lock: a pass makes about
a dozen short NumPy calls per block of examples, and each holds the lock for a few
microseconds of setup (a fifth of a digits pass's time, sampled). A worker process has an
interpreter of its own.

The workers are fresh interpreters (``python -c`` importing this module, with the
parent's ``sys.path``), started once and kept. They are not forked: a fork while another
thread is inside a multi-threaded BLAS product hangs the child or the parent (OpenBLAS
shuts its thread pool down at every fork, OpenBLAS issues #2270, #5520), and the app runs
cuts, contours and runs beside its slices. A worker's BLAS library keeps to one thread
(the products are small; the workers are the parallelism).

A slice gives each worker a chunk of examples'
:class:`~core.landscapes.network_slice.BlockPasses` once (the first layer's parts of the
examples, the later layers, the loss; no data set), then passes of points (a, b), whose
parameter vectors the worker makes; it answers each pass with its sums (and the warnings
it raised, raised again in the parent); at the slice's end the worker drops the passes.
Messages are frames on the workers' standard input and output: a header (kind, tag,
sizes), a pickle, and the arrays' memory out of band (pickle protocol 5), so that a
worker holds one copy of the examples' parts and the parent makes none to send them.

One slice at a time has the pool (:meth:`SlicePool.lease`); another slice meanwhile uses
threads. A worker that dies, stops answering or stops reading, or whose pipe is left in
the middle of a frame (an interrupt), breaks the pool up: the slice finishes on threads
and the next slice starts a new pool. A worker exits when its input closes (the pool is
closed, or the parent process ends).
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
import time
import warnings

# kind (1 byte), tag, pickle's length, number of out-of-band buffers
_HEADER = struct.Struct("<BqQI")
_SIZE = struct.Struct("<Q")
PASSES, PASS, SUMS, ERROR, DROP = 1, 2, 3, 4, 5
# A pass takes milliseconds; a worker silent (or not reading) for this long is taken for lost.
REPLY_TIMEOUT_S = 120.0
# Passes sent ahead to each worker: it starts the next while its answer travels.
IN_FLIGHT = 2
# BLAS libraries' thread counts in a worker (the environment is read when NumPy loads).
_ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class WorkerLost(Exception):
    """A worker process died, closed its output, stopped answering or reading, or its pipe
    was left in the middle of a frame."""


class WorkerError(Exception):
    """A worker's error that could not be sent as itself (its text is the message)."""


# --------------------------------------------------------------------------- frames

def encode(kind, tag, value):
    """A frame's parts, byte memoryviews: the header, the pickle and the out-of-band
    buffers (``PickleBuffer.raw()``: contiguous bytes)."""
    buffers = []
    data = pickle.dumps(value, protocol=5, buffer_callback=buffers.append)
    raws = [buffer.raw() for buffer in buffers]
    header = _HEADER.pack(kind, tag, len(data), len(raws)) + b"".join(_SIZE.pack(raw.nbytes) for raw in raws)
    return [memoryview(header), memoryview(data), *raws]


def _write_blocking(fd, parts):
    """Write ``parts`` (byte memoryviews, as :func:`encode` makes them) to a blocking ``fd``."""
    for view in parts:
        while view:
            view = view[os.write(fd, view):]


def _write_by(fd, parts, deadline):
    """Write ``parts`` to a non-blocking ``fd``, waiting for room until ``deadline``."""
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    for view in parts:
        while view:
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not poller.poll(remaining * 1000):
                    raise WorkerLost("a slice worker stopped reading") from None


def _read_exactly(fd, size):
    buffer = bytearray(size)
    view, done = memoryview(buffer), 0
    while done < size:
        count = os.readv(fd, [view[done:]])
        if not count:
            raise EOFError
        done += count
    return buffer


def read_frame(fd):
    """The next frame on ``fd``: (kind, tag, pickle bytes, buffers); EOFError at the end."""
    kind, tag, length, count = _HEADER.unpack(_read_exactly(fd, _HEADER.size))
    sizes = [_SIZE.unpack(_read_exactly(fd, _SIZE.size))[0] for _ in range(count)]
    data = _read_exactly(fd, length)
    return kind, tag, data, [_read_exactly(fd, size) for size in sizes]


def decode(data, buffers):
    return pickle.loads(data, buffers=buffers)


# --------------------------------------------------------------------------- the worker

def serve(incoming=0, outgoing=None):
    """A worker's loop on file descriptors: PASSES replaces the passes it holds (the old
    ones dropped first), DROP drops them, PASS (points (a, b) (P,) each) is answered with
    SUMS ((sums (P,), warnings)) or ERROR (the exception); the end of ``incoming`` ends it."""
    if outgoing is None:   # the answers get the output to themselves: a print goes to nothing
        outgoing = os.dup(1)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    passes = None
    while True:
        try:
            kind, tag, data, buffers = read_frame(incoming)
        except EOFError:
            return
        if kind in (PASSES, DROP):
            passes = None   # (before the new ones are unpickled: one copy at a time)
            if kind == PASSES:
                passes = decode(data, buffers)
            continue
        try:
            a, b = decode(data, buffers)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                sums = passes.sums_at(a, b)
            reply = encode(SUMS, tag, (sums, [(w.category, str(w.message)) for w in caught]))
        except Exception as error:   # sent to the parent, which raises it
            try:
                reply = encode(ERROR, tag, error)
            except Exception:   # noqa: BLE001  (an error that does not pickle: its text)
                reply = encode(ERROR, tag, WorkerError(f"{type(error).__name__}: {error}"))
        _write_blocking(outgoing, reply)


def main():
    """A worker process's entry point. SIGINT is the parent's to handle (a Ctrl+C reaches
    the whole process group; the parent then closes the workers' input)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve()


# --------------------------------------------------------------------------- the parent

class Worker:
    """One worker process and what the parent knows of it: the passes it holds
    (:attr:`key`), its passes in flight (tags), and whether its pipes are still in step
    (:attr:`broken`: anything raised in the middle of a frame breaks them)."""

    def __init__(self):
        module = __name__   # the parent's name for this module (hillwalk.core... or core...)
        code = f"import sys; sys.path[:0] = {list(sys.path)!r}; import {module} as m; m.main()"
        self.process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, env={**os.environ, **_ONE_THREAD})
        self.input, self.output = self.process.stdin.fileno(), self.process.stdout.fileno()
        os.set_blocking(self.input, False)   # writes wait with a deadline (see _write_by)
        self.key = None
        self.in_flight = []
        self.broken = False

    @contextlib.contextmanager
    def _in_frame(self):
        """Any exception here leaves the pipes out of step, unless the frame was whole."""
        try:
            yield
        except WorkerLost:
            self.broken = True
            raise
        except (OSError, ValueError, EOFError, struct.error) as error:
            self.broken = True
            raise WorkerLost(f"slice worker {self.process.pid} is gone ({error!r})") from error
        except BaseException:
            self.broken = True
            raise

    def send(self, kind, tag, value, in_flight=False):
        """Send a frame; ``in_flight``: a pass, whose tag is then waited for (recorded
        within the frame: an interrupt between the two breaks the worker, not the count)."""
        parts = encode(kind, tag, value)   # (nothing written yet if this fails)
        with self._in_frame():
            if in_flight:
                self.in_flight.append(tag)
            _write_by(self.input, parts, time.monotonic() + REPLY_TIMEOUT_S)

    def hold(self, key, passes):
        """Give the worker ``passes`` unless it holds them already."""
        if self.key != key:
            self.key = None
            self.send(PASSES, 0, passes)
            self.key = key

    def drop(self):
        """The worker drops the passes it holds (their memory)."""
        if self.key is not None:
            self.key = None
            self.send(DROP, 0, None)

    def submit(self, tag, a, b):
        """Send the worker a pass of points (a, b) (P,) each (small: its pipe never fills)."""
        self.send(PASS, tag, (a, b), in_flight=True)

    def receive(self):
        """The next answer: (tag, error or None, sums or None); the worker's warnings are
        raised again here."""
        with self._in_frame():
            kind, tag, data, buffers = read_frame(self.output)
            self.in_flight.remove(tag)
        try:
            value = decode(data, buffers)
        except Exception as error:   # noqa: BLE001  (an answer whose class this process cannot make)
            return tag, WorkerError(f"an answer of a slice worker could not be read: {error!r}"), None
        if kind == ERROR:
            return tag, value, None
        sums, warned = value
        for category, text in warned:
            warnings.warn(text, category, stacklevel=2)
        return tag, None, sums

    def close(self, wait_s=1.0):
        """Close the worker's input (it exits); kill it if it has not within ``wait_s``."""
        self.broken = True
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
    """Wait for the workers with passes in flight; the answers of those that have one: a
    list of (worker, tag, error or None, sums or None). WorkerLost when none answers
    within ``timeout_s``."""
    waiting = {}
    poller = select.poll()
    for worker in workers:
        if worker.in_flight:
            if worker.broken:
                raise WorkerLost("a slice worker's pipes are out of step")
            waiting[worker.output] = worker
            poller.register(worker.output, select.POLLIN)
    if not waiting:
        return []
    ready = poller.poll(timeout_s * 1000)
    if not ready:
        for worker in waiting.values():
            worker.broken = True
        raise WorkerLost(f"no slice worker answered within {timeout_s:.0f} s")
    return [(waiting[fd], *waiting[fd].receive()) for fd, _events in ready]


class SlicePool:
    """``count`` worker processes shared by the slices, one slice at a time."""

    def __init__(self, count):
        self.count = count
        self.workers = []
        try:
            for _ in range(count):
                self.workers.append(Worker())
        except (OSError, ValueError, TypeError):   # no process to be had: the ones started go too
            for worker in self.workers:
                worker.close(wait_s=0.2)
            raise
        self.broken = False
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def lease(self):
        """The workers, or None when another slice has them or the pool is broken. A
        worker whose pipes went out of step breaks the pool up as the lease ends."""
        if self.broken or not self._lock.acquire(blocking=False):
            yield None
            return
        try:
            yield self.workers
        finally:
            if any(worker.broken for worker in self.workers):
                self.break_up()
            self._lock.release()

    def finish(self):
        """A slice's end, or its stop: wait for every pass in flight (dropping the answers
        and their errors), then the workers drop the passes; WorkerLost if a worker fails
        meanwhile (the pool is then broken up)."""
        try:
            if any(worker.broken for worker in self.workers):
                raise WorkerLost("a slice worker's pipes are out of step")
            while any(worker.in_flight for worker in self.workers):
                answers(self.workers)
            for worker in self.workers:
                worker.drop()
        except BaseException:
            self.break_up()
            raise

    def break_up(self):
        """Close every worker; the pool is not used again."""
        self.broken = True
        for worker in self.workers:
            worker.close(wait_s=0.2)

    def close(self):
        self.broken = True
        for worker in self.workers:
            worker.close()


_POOLS = {}
_POOLS_LOCK = threading.Lock()
_TAGS = itertools.count(1)
# After this many pools broke in a row (workers that cannot start, or die), slices keep
# to threads.
MAX_BROKEN_POOLS = 3
_broken_pools = 0


def shared_pool(count) -> SlicePool | None:
    """The process's pool of ``count`` workers, started at the first call (and again after
    one broke); None once :data:`MAX_BROKEN_POOLS` broke in a row, or where worker
    processes cannot be had (not POSIX, no interpreter to start)."""
    global _broken_pools
    if os.name != "posix" or not sys.executable:
        return None
    with _POOLS_LOCK:
        pool = _POOLS.get(count)
        if pool is not None and pool.broken:   # counted once
            _broken_pools += 1
            del _POOLS[count]
            pool = None
        if pool is None:
            if _broken_pools >= MAX_BROKEN_POOLS:
                return None
            try:
                pool = _POOLS[count] = SlicePool(count)
            except (OSError, ValueError, TypeError):
                _broken_pools += 1
                return None
        return pool


def pool_worked():
    """A slice finished on the pool: earlier breakages no longer count."""
    global _broken_pools
    _broken_pools = 0


def next_tag() -> int:
    """A tag no other pass of this process has."""
    return next(_TAGS)


@atexit.register
def close_pools():
    """Close every pool (at the interpreter's exit)."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.close()
