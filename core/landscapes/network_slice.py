"""The exact fast slice path of a network: the first layer once per slice, the rest per point.

On the plane ``theta = c + a d1 + b d2`` the first layer's weights and biases are affine in
(a, b), so its pre-activations are too, example by example:

    Z(a, b) = X W1(a, b) + b1(a, b) = Z0 + a Za + b Zb,

with ``Z0, Za, Zb`` the first layer's affine map under c, d1 and d2 (``(n, M)`` each,
maxout ``(k, n, M)``). The big product (``N D M`` multiply-adds per point on the generic path)
is done three times for the whole grid, in one pass over X; what remains per grid point
is the combination, the activation, the later layers (``h W2(a, b)`` and on) and the loss,
batched over chunks of points and shared among worker processes (long slices, see
:mod:`core.landscapes.slice_processes`) or threads. With one hidden layer the output
biases ride on a constant unit of the first layer's parts (one product for the scores), and
softmax is shifted by the correct class's score (no largest-score reduction) wherever no
exponential overflows.

Every operation after the combination is the point-by-point evaluation's, batched; the
combination is the only difference. For a first-layer unit u (its column of
``[W1; b1]``; maxout: each piece) its rounding is that of the three products times
``|c_u| + |a| |d1_u| + |b| |d2_u|`` over ``|c_u + a d1_u + b d2_u|``: wherever that ratio
exceeds :data:`CANCELLATION_GUARD` for any unit (the plane passes near zero for it, where
the sum cancels) the point is evaluated directly and counted in ``fallback_points``.

Used by :func:`core.landscapes.landscape.iter_slice` for every network the path can take
(:meth:`~core.models.network.Network.fast_slice_refusal` says which cannot: batch norm
in train mode).
"""
from __future__ import annotations

import collections
import contextlib
import itertools
import math
import os
import queue
import threading

import numpy as np

from ..models.losses import per_example_losses_by_rows, softmax_loss_sums_shifted_by_correct
from . import slice_processes
from .landscape import WORK_PER_STEP, get_parallelism, penalty_grid, slice_threads

# A grid point where some first-layer unit's |c_u| + |a||d1_u| + |b||d2_u| exceeds this
# multiple of |c_u + a d1_u + b d2_u| is evaluated directly: there the combination's rounding
# could be up to that many times the direct product's, and beyond 16 (4 bits) we do not
# accept it.
CANCELLATION_GUARD = 16.0
# The cached first-layer parts may take this share of the memory budget; above it the
# examples are taken in chunks (and the parts recomputed per chunk).
PARTS_SHARE = 2
# Points per step aim at this many multiply-adds per worker (a few tens of milliseconds).
STEP_WORK = 4 * WORK_PER_STEP
# The examples go through the network in blocks whose pre-activations (every layer's) and
# scores for the points of a pass take about this much memory: with the block's three
# first-layer parts (read once per pass) they stay in a core's 2 MB cache through the
# combination, the activations, the products and the loss. The block is at least MIN_BLOCK
# examples (below that the per-block calls cost more than the cache saves; a pass then takes
# more, within a quarter of the memory budget), so a pass has BLOCK_CACHE_BYTES / (8 (units
# + classes) MIN_BLOCK) points, at least one. Measured with one thread, microseconds a
# point (min of 5): digits (1438 examples, 64 units) in one block of 5 points 250-290, in
# blocks of 256 examples and 8 points 175-179, of 480 and 4 180-190, of 128 and 16 246; a
# CIFAR-sized net (10000 examples, 100 units) in blocks of 327 and 4 points 2260, of 640 and
# 2 2690, of 1024 and 1 4200. The rule gives digits blocks of 295 and 6 points (145-205 in
# three runs; 291 and 6 with the constant unit of one hidden layer), the CIFAR-sized net 297
# and 4.
BLOCK_CACHE_BYTES = 2 ** 20
MIN_BLOCK = 256
# Where there are several workers, a slice of at least this many multiply-adds
# (Network.fast_slice_work over the grid, about 0.1 s) shares its passes among worker
# processes (core.landscapes.slice_processes) instead of threads, unless the environment
# sets HILLWALK_SLICE_PROCESSES=0. Below it, sending the workers the examples' parts (and
# starting them, the first time) costs more than the interpreter lock.
PROCESS_MIN_WORK = 10 ** 9
# A chunk of points goes to the worker processes in this many pieces per worker (each a
# few passes: a message per pass cost more than the passes gained)
PROCESS_PIECES = 2
PROCESSES_ALLOWED = os.environ.get("HILLWALK_SLICE_PROCESSES", "1") != "0"
_PASSES_KEYS = itertools.count()


def _block_scores(later, weights, three, z, masks, out):
    """A block's scores (P, C, n) at a pass's points, into ``out``: the first layer's
    ``Z0 + a Za + b Zb`` for all the points (one small product, with one rounding per point
    and entry) into ``z`` (P, [k,] M, n), then :class:`~core.models.network.LaterLayers`
    ``later``. ``weights`` (P, 3) are the points' ``[1, a, b]``, ``three`` the block's parts
    (3, [k] M n)."""
    P = weights.shape[0]
    np.matmul(weights, three, out=z.reshape(P, -1))
    return later(z, masks, out=out)


def plane_points(vectors, has_dir2, a, b):
    """Parameter vectors (P, V) at points (a, b) (P,) each, with the operations of
    ``plane.point``: ``vectors`` (3, V) are the centre's and the directions' entries (the
    second direction's unused without one)."""
    c, d1, d2 = vectors
    thetas = np.multiply(a[:, None], d1[None, :])
    thetas += c[None, :]
    if has_dir2:
        moved = b != 0
        thetas[moved] += b[moved, None] * d2[None, :]
    return thetas


def pass_points(vectors, has_dir2, a, b):
    """What a pass needs of points (a, b) (P,) each: their parameter vectors from the
    second layer on (P, V) (``vectors`` (3, V): the centre's and directions' entries from
    there) and their weights ``[1, a, b]`` (P, 3) for the first layer's parts."""
    weights = np.stack([np.ones(a.size), a, b if has_dir2 else np.zeros(a.size)], axis=1)
    return plane_points(vectors, has_dir2, a, b), weights


class BlockPasses:
    """The passes of the network fast slice over one chunk of examples, with all they need
    and nothing else (picklable, without the network's data: a slice's worker process gets
    it): the examples' blocks (see :meth:`FastNetwork._load_parts`), the later layers
    (:class:`~core.models.network.LaterLayersSpec`) and the loss.

    A block of examples goes through the whole network and the loss while its
    pre-activations, hidden layers and scores are in the cache: the block's three parts
    are read once per pass of :attr:`points_per_pass` points, and the later layers'
    weights are prepared once per pass.

    Every call per block costs interpreter time, during which another worker thread waits
    for the interpreter lock (a fifth of a digits pass's time was spent so): softmax's
    overflow is checked once per pass over all the blocks' sums, under one error state,
    and only the blocks that overflowed are evaluated again."""

    def __init__(self, blocks, later, loss_name, delta, n_classes, accuracy, points_per_pass, vectors, has_dir2):
        self.key = next(_PASSES_KEYS)   # a worker process holding these passes is not sent them again
        self.blocks, self.later = blocks, later
        # (3, V): the centre's and directions' entries from the later layers' first column on
        self.vectors, self.has_dir2 = vectors, has_dir2
        self.loss_name, self.delta, self.n_classes = loss_name, delta, n_classes
        self.accuracy, self.points_per_pass = accuracy, points_per_pass
        self.mask_sets = len(blocks[0][1])
        self._scratch = threading.local()   # each worker's buffers, reused pass after pass

    def __getstate__(self):
        state = dict(self.__dict__)
        del state["_scratch"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._scratch = threading.local()

    def _buffers(self, z_size, scores_size):
        """This thread's buffers: ``z_size`` floats for pre-activations and ``scores_size``
        for the scores; grown when too small, else reused (fresh large arrays each pass cost
        page faults, which two workers take in turn)."""
        scratch = self._scratch
        if getattr(scratch, "z", np.empty(0)).size < z_size:
            scratch.z = np.empty(z_size)
        if getattr(scratch, "scores", np.empty(0)).size < scores_size:
            scratch.scores = np.empty(scores_size)
        return scratch.z, scratch.scores

    def sums_at(self, a, b):
        """:meth:`sums` at points (a, b) (P,) each, their vectors made here (a worker
        process is sent the points, not their vectors)."""
        return self.sums(*pass_points(self.vectors, self.has_dir2, a, b))

    def sums(self, thetas, weights):
        """Per point, the sum over the blocks' examples of the per-example loss (averaged
        over the mask sets), or of correct classifications for accuracy: shape (P,).
        ``thetas`` (P, size - first_column): the points' parameter vectors from the later
        layers' first column on; ``weights`` (P, 3): their ``[1, a, b]``."""
        P = thetas.shape[0]
        if P > self.points_per_pass:
            step = self.points_per_pass
            return np.concatenate([self.sums(thetas[i:i + step], weights[i:i + step]) for i in range(0, P, step)])
        blocks, classes = self.blocks, self.n_classes
        later = self.later.at(thetas)
        accuracy = self.accuracy
        shifted_softmax = self.loss_name == "softmax" and not accuracy
        largest = blocks[0][0]   # the first block is the largest
        z_buffer, scores_buffer = self._buffers(P * largest[0].size, P * classes * largest.shape[-1])

        def scores_of(parts, block_masks):   # (P, C, n), in this thread's buffer
            three = parts.reshape(3, -1)                                          # (3, [k] M n)
            z = z_buffer[:P * three.shape[1]].reshape((P,) + parts.shape[1:])
            scores_out = scores_buffer[:P * classes * parts.shape[-1]].reshape(P, classes, -1)
            return _block_scores(later, weights, three, z, block_masks, scores_out)

        # per mask set and block, the block's sum at each point
        block_sums = np.empty((self.mask_sets, len(blocks), P))
        # softmax's overflow is signalled by its inf sums (and the blocks evaluated again
        # outside this state, where any overflow of the products is reported as before)
        with np.errstate(over="ignore") if shifted_softmax else contextlib.nullcontext():
            for set_index in range(self.mask_sets):
                for sums, (parts, masks, labels, correct) in zip(block_sums[set_index], blocks):
                    scores = scores_of(parts, masks[set_index])
                    if accuracy:
                        sums[:] = np.count_nonzero(np.argmax(scores, axis=1) == labels, axis=1)
                    elif shifted_softmax:
                        softmax_loss_sums_shifted_by_correct(scores, correct, out=sums)
                    else:
                        np.add.reduce(per_example_losses_by_rows(scores, correct, self.loss_name, self.delta),
                                      axis=1, out=sums)
        if shifted_softmax:
            overflowed = ~np.isfinite(block_sums).all(axis=2)                 # (sets, blocks)
            for set_index, block_index in zip(*np.nonzero(overflowed)):   # the largest-score shift
                parts, masks, labels, correct = blocks[block_index]
                scores = scores_of(parts, masks[set_index])
                np.add.reduce(per_example_losses_by_rows(scores, correct, "softmax"), axis=1,
                              out=block_sums[set_index, block_index])
        return np.add.reduce(block_sums.reshape(-1, P), axis=0) / self.mask_sets


class FastNetwork:
    """The slice engine of a network (see the module's docstring); the interface of the
    engines in :mod:`core.landscapes.landscape`: ``run(values)`` yields (fraction, complete
    rows, preview or None) and fills ``values`` (nb, na); ``fallback_points`` counts the
    points evaluated directly.
    """

    def __init__(self, objective, plane, alphas, betas, component, budget_bytes):
        self.objective, self.plane, self.alphas, self.betas = objective, plane, alphas, betas
        self.component, self.budget_bytes = component, budget_bytes
        self.fallback_points = 0
        self.preview = True   # a coarse grid first where the scores are cached (iter_slice sets it)
        net = objective
        size = net.size
        dir2 = plane.dir2.reshape(-1) if plane.dir2 is not None else np.zeros(size)
        self.vectors = np.stack([plane.center.reshape(-1), plane.dir1.reshape(-1), dir2])   # (3, size)
        kind = component.kind
        if kind == "example":
            self.rows = slice(component.index, component.index + 1)
        else:
            self.rows = slice(0, net.n_train)
        self.n_examples = self.rows.stop - self.rows.start
        self.mask_sets, self.bn_mode = net.slice_modes(component)
        first = net.layers[0]
        self.first_layer_end = first.b.offset + first.b.size        # W1 then b1, contiguous
        self.first_width = first.pieces * first.width
        # one hidden layer: its parts carry a constant-1 unit for the output biases (see
        # core.models.network.LaterLayers)
        self.ones_row = net.folds_output_biases()
        parts_bytes_per_example = 3 * 8 * (first.pieces * first.width + self.ones_row)
        cache_limit = max(1, budget_bytes // PARTS_SHARE // parts_bytes_per_example)
        self.example_chunk = int(min(self.n_examples, cache_limit))
        self.parallelism = get_parallelism()
        self.workers = self.parallelism.workers
        # per point: its scores and the loss's temporaries for the chunk's examples (an upper
        # bound: a pass holds one block's); per worker: a pass's pre-activations, hidden
        # layers and scores (about BLOCK_CACHE_BYTES each, see self.block)
        per_point_bytes = 8 * self.example_chunk * (net.n_classes + 4)
        by_memory = max(1, (budget_bytes // 2 - 2 * BLOCK_CACHE_BYTES * self.workers) // per_point_bytes)
        by_work = max(1, STEP_WORK // max(1, net.fast_slice_work(self.example_chunk)))
        self.points_per_worker = int(max(1, min(by_memory // self.workers, by_work)))
        # what a pass holds per example and point: every layer's pre-activations (maxout:
        # every piece's) and the scores
        self.unit_bytes = 8 * (sum(layer.pieces * layer.width for layer in net.layers) + self.ones_row
                               + net.n_classes)
        self.points_per_pass = int(max(1, min(self.points_per_worker,
                                              BLOCK_CACHE_BYTES // (self.unit_bytes * MIN_BLOCK))))
        by_cache = BLOCK_CACHE_BYTES // (self.unit_bytes * self.points_per_pass)
        # (very wide layers: MIN_BLOCK examples could take more than the budget allows; every
        # worker's pass within a quarter of it)
        by_budget = budget_bytes // 4 // self.workers // (self.unit_bytes * self.points_per_pass)
        self.block = int(max(1, min(self.example_chunk, max(MIN_BLOCK, by_cache), by_budget)))
        self._blocks, self._blocks_of = [], None
        self._grams = None
        self._passes = None   # the BlockPasses of the examples' blocks loaded
        # worker processes where the slice pays for them and each worker's copy of a chunk's
        # passes (the parts, the dropout masks of every mask set, the labels) fits beside
        # this process's in the parts' share of the budget
        mask_bytes_per_example = 8 * sum(mask.shape[1] for masks in self.mask_sets if masks is not None
                                         for mask in masks)
        passes_bytes = (parts_bytes_per_example + mask_bytes_per_example + 16) * self.example_chunk
        self.use_processes = (PROCESSES_ALLOWED and self.workers > 1
                              and net.fast_slice_work(self.example_chunk) * alphas.size * betas.size
                              * math.ceil(self.n_examples / self.example_chunk) >= PROCESS_MIN_WORK
                              and passes_bytes * (self.workers + 1) <= budget_bytes // PARTS_SHARE)

    # ----------------------------------------------------------------- the guard
    def _unit_grams(self):
        """Per first-layer unit (maxout: per piece) u, the 3 x 3 Gram matrix of its incoming
        weights and bias ``[W1[:, u]; b1[u]]`` under c, d1 and d2: shape (U, 3, 3)."""
        layer = self.objective.layers[0]
        k, M, D = layer.pieces, layer.width, layer.fan_in
        columns = []
        for v in self.vectors:
            W = layer.W.view(v)
            W = W.transpose(1, 0, 2).reshape(D, k * M) if k > 1 else W
            columns.append(np.vstack([W, layer.b.view(v).reshape(1, k * M)]))     # (D+1, U)
        stacked = np.stack(columns)                                                # (3, D+1, U)
        return np.einsum("iru,jru->uij", stacked, stacked)

    def _needs_direct(self, a, b, points_per_step=4096):
        """Bool array like ``a``: points where some first-layer unit's combination cancels,
        i.e. ``|c_u| + |a||d1_u| + |b||d2_u|`` exceeds CANCELLATION_GUARD times
        ``|c_u + a d1_u + b d2_u|`` for a unit's column u of ``[W1; b1]`` (the ratio bounds
        how much the combination's rounding can exceed the direct product's for that unit's
        pre-activations; one unit near zero is enough to lose digits downstream)."""
        if self._grams is None:
            self._grams = self._unit_grams()
        g = self._grams
        norms = np.sqrt(np.maximum(np.stack([g[:, 0, 0], g[:, 1, 1], g[:, 2, 2]]), 0.0))   # (3, U)
        flagged = np.zeros(a.size, dtype=bool)
        for start in range(0, a.size, points_per_step):
            pa, pb = a[start:start + points_per_step, None], b[start:start + points_per_step, None]   # (P, 1)
            squared = (g[:, 0, 0] + 2 * pa * g[:, 0, 1] + 2 * pb * g[:, 0, 2] + pa * pa * g[:, 1, 1]
                       + 2 * pa * pb * g[:, 1, 2] + pb * pb * g[:, 2, 2])                            # (P, U)
            bound = norms[0] + np.abs(pa) * norms[1] + np.abs(pb) * norms[2]
            flagged[start:start + points_per_step] = np.any(squared * CANCELLATION_GUARD ** 2 < bound * bound,
                                                            axis=1)
        return flagged

    def _direct(self, a, b):
        """The component at points (a, b) evaluated the generic way."""
        thetas = self._point_thetas(a, b)
        return self.objective.evaluate_batch(thetas.reshape((-1,) + tuple(self.objective.param_shape)),
                                             self.component)

    # ----------------------------------------------------------------- per chunk of points
    def _load_parts(self, start, stop):
        """Examples start..stop in cache-sized blocks, into ``self._blocks``: a list of
        (parts, masks, labels, correct), ``parts`` the first layer's (3, [k,] M, n) under c,
        d1, d2 for the block's n examples ((3, M + 1, n) with the constant unit where the
        output biases are folded, see :attr:`ones_row`) (one product per block: contiguous, and never the
        whole (3, M, N) at once), ``masks`` per mask set None or one (width, n) mask per
        hidden layer, transposed, ``labels`` (n,) and ``correct`` (n,) the correct classes'
        flat indices in a point's (C, n) scores. Yields after each block (a block's product
        is the longest step)."""
        if self._blocks_of == (start, stop):
            return
        self._blocks, self._blocks_of = [], None   # the previous chunk's memory first
        for lo in range(start, stop, self.block):
            rows = slice(lo, min(stop, lo + self.block))
            masks = [None if masks is None else [np.ascontiguousarray(mask[rows].T) for mask in masks]
                     for masks in self.mask_sets]
            labels = self.objective.y[rows]
            correct = labels * labels.size + np.arange(labels.size)
            parts = self.objective.first_layer_preactivations(self.vectors, rows, ones_row=self.ones_row)
            self._blocks.append((parts, masks, labels, correct))
            yield
        self._blocks_of = (start, stop)

    def _point_thetas(self, a, b, first=0):
        """Parameter vectors with the operations of ``plane.point``, from entry ``first``
        on: (P, size - first) (the fast path never reads the first layer's)."""
        return plane_points(self.vectors[:, first:], self.plane.dir2 is not None, a, b)

    def _points(self, a, b):
        """What a pass needs of points (a, b) (shape (P,) each): see :func:`pass_points`.
        Made once for a chunk of points and sliced per pass (fewer calls per pass: the
        worker threads share one interpreter)."""
        return pass_points(self.vectors[:, self.first_layer_end:], self.plane.dir2 is not None, a, b)

    def _chunk_sums(self, points, blocks):
        """Points from :meth:`_points` (anywhere on the grid): per point the sum over the
        examples of ``blocks`` (:attr:`_blocks`) of the per-example loss (averaged over the
        mask sets), or of correct classifications for accuracy; shape (P,). See
        :class:`BlockPasses`."""
        return self._block_passes(blocks).sums(*points)

    def _block_passes(self, blocks):
        """The :class:`BlockPasses` of ``blocks`` (made once per chunk of examples)."""
        if self._passes is None or self._passes.blocks is not blocks:
            net = self.objective
            later = net.later_layers_spec(self.bn_mode, fold_output_biases=self.ones_row,
                                          first_column=self.first_layer_end)
            self._passes = BlockPasses(blocks, later, net.loss_name, net.delta, net.n_classes,
                                       self.component.kind == "accuracy", self.points_per_pass,
                                       self.vectors[:, self.first_layer_end:], self.plane.dir2 is not None)
        return self._passes

    def _chunk_results(self, chunks, blocks, threaded):
        """For each chunk of points (an (a, b) pair of arrays (P,)), in order, its
        :meth:`_chunk_sums`; a generator. ``threaded``: shared among :attr:`workers`
        worker processes (:meth:`_process_results`) where the slice is long enough to pay
        for them (:attr:`use_processes`) and no other slice has them, else threads
        (:meth:`_thread_results`). Closing the generator stops the workers after their
        current pass."""
        if not threaded:
            for a, b in chunks:
                yield self._chunk_sums(self._points(a, b), blocks) if a.size else np.zeros(0)
            return
        pool = slice_processes.shared_pool(self.workers) if self.use_processes else None
        if pool is not None:
            with pool.lease() as workers:
                if workers is not None:
                    yield from self._process_results(chunks, blocks, pool, workers)
                    return
        yield from self._thread_results(chunks, blocks)

    def _piece_slices(self, points, pieces=None):
        """A chunk of ``points`` points cut into passes: slices of :attr:`points_per_pass`
        points, or the chunk shared evenly among the workers when it is smaller; with
        ``pieces``, into that many pieces of whole passes (or fewer)."""
        step = self.points_per_pass if points > self.points_per_pass else max(1, -(-points // self.workers))
        if pieces is not None:
            step *= max(1, points // (step * pieces))
        return [slice(i, i + step) for i in range(0, points, step)]

    def _chunk_passes(self, a, b):
        """A chunk's points (a, b) cut into passes (:meth:`_piece_slices`): a list of
        (chosen slice, thetas, weights)."""
        if not a.size:
            return []
        thetas, weights = self._points(a, b)
        return [(chosen, thetas[chosen], weights[chosen]) for chosen in self._piece_slices(a.size)]

    def _process_results(self, chunks, blocks, pool, workers):
        """:meth:`_chunk_results` on the pool's worker processes (see
        :mod:`core.landscapes.slice_processes`): each gets the examples' :class:`BlockPasses`
        once, then passes of points, :data:`~core.landscapes.slice_processes.IN_FLIGHT` at
        a time; this thread prepares the chunks two ahead and waits for the answers. A
        worker's error is raised here; a worker lost breaks the pool up and the chunks not
        yet yielded are computed by threads. At the end, or when the generator is closed,
        the passes in flight are waited for (milliseconds) and the workers drop the
        examples' passes (their memory), leaving the pool to the next slice."""
        passes = self._block_passes(blocks)
        chunks = iter(chunks)
        taken, chunk_sums, remaining = [], [], []   # per chunk taken: its points, sums, pieces to come
        where = {}                                   # a piece's tag -> (its chunk, its slice of points)
        waiting = collections.deque()                # pieces to send: (tag, a, b)

        def take():   # the next chunk's pieces, queued
            for a, b in itertools.islice(chunks, 1):
                index = len(chunk_sums)
                taken.append((a, b))
                chunk_sums.append(np.empty(a.size))
                cuts = self._piece_slices(a.size, PROCESS_PIECES * self.workers)
                remaining.append(len(cuts))
                for chosen in cuts:
                    tag = slice_processes.next_tag()
                    where[tag] = (index, chosen)
                    waiting.append((tag, a[chosen], b[chosen]))

        yielded, lost = 0, False
        try:
            for worker in workers:
                worker.hold(passes.key, passes)
            take()
            take()
            while yielded < len(chunk_sums):
                while remaining[yielded]:
                    for worker in workers:
                        while len(worker.in_flight) < slice_processes.IN_FLIGHT and waiting:
                            worker.submit(*waiting.popleft())
                    for _worker, tag, error, sums in slice_processes.answers(workers):
                        if error is not None:
                            raise error
                        index, chosen = where.pop(tag)
                        chunk_sums[index][chosen] = sums
                        remaining[index] -= 1
                take()
                yield chunk_sums[yielded]
                chunk_sums[yielded] = None
                yielded += 1
        except slice_processes.WorkerLost:
            lost = True
        finally:
            if not lost:   # the passes in flight (a slice stopped early, an error), then the workers drop the passes
                try:
                    pool.finish()
                    slice_processes.pool_worked()   # (a slice's end comes as a close, too)
                except slice_processes.WorkerLost:
                    lost = True
        if lost:   # the chunks not yet yielded, on threads
            pool.break_up()
            yield from self._thread_results(itertools.chain(taken[yielded:], chunks), blocks)

    def _thread_results(self, chunks, blocks):
        """:meth:`_chunk_results` on :attr:`workers` threads ("hillwalk-slice-..."), which
        take passes of :attr:`points_per_pass` points off one queue for as long as there
        are any, across chunks: none waits for the other at the end of a chunk, nor for this
        thread, which prepares the chunks a few ahead (their parameter vectors) and is woken
        once per chunk. The BLAS library is held to one thread during each pass (the
        products are small; the threads are ours). Closing the generator stops the workers
        after their current pass and joins them (see
        :func:`~core.landscapes.landscape.slice_threads`)."""
        hold_blas = self.parallelism.blas_limit or contextlib.nullcontext
        passes = queue.SimpleQueue()
        lock = threading.Lock()
        stopping = threading.Event()
        failure = []
        chunk_sums, remaining, finished = [], [], []

        def work():
            while not stopping.is_set():
                item = passes.get()
                if item is None:
                    return
                index, chosen, points = item
                try:
                    # held per pass, not across the generator's pauses: a slice paused, or
                    # dropped and not yet collected, holds no limit
                    with hold_blas():
                        chunk_sums[index][chosen] = self._chunk_sums(points, blocks)
                except BaseException as error:   # handed to the waiting generator, which raises it
                    failure.append(error)
                    for event in finished:
                        event.set()
                    return
                with lock:
                    remaining[index] -= 1
                    if remaining[index] == 0:
                        finished[index].set()

        def submit(a, b):
            index = len(chunk_sums)
            cut = self._chunk_passes(a, b)
            chunk_sums.append(np.empty(a.size))
            remaining.append(len(cut))
            finished.append(threading.Event())
            if not cut:
                finished[index].set()
            for chosen, thetas, weights in cut:
                passes.put((index, chosen, (thetas, weights)))

        chunks = iter(chunks)
        lookahead = 2
        with slice_threads(work, self.workers, passes, stopping):
            for _ in range(lookahead):
                for a, b in itertools.islice(chunks, 1):
                    submit(a, b)
            index = 0
            while index < len(chunk_sums):
                for a, b in itertools.islice(chunks, 1):
                    submit(a, b)
                finished[index].wait()
                if failure:
                    raise failure[0]
                yield chunk_sums[index]
                chunk_sums[index] = None
                index += 1

    # ----------------------------------------------------------------- points
    def _evaluate_points(self, alphas, betas, penalty, out, threaded, progress):
        """Fill ``out`` (nb * na,) with the component on the grid ``alphas`` x ``betas``
        (row-major), plus ``penalty`` (the total's regularization) when not None; yields
        the number of points finished (in order) after every step, or None while the
        examples are taken in chunks (nothing is finished until the last chunk)."""
        na = alphas.size
        chunk_points = self.points_per_worker * (self.workers if threaded else 1)
        grid_a, grid_b = np.tile(alphas, betas.size), np.repeat(betas, alphas.size)
        sums = np.zeros(out.size)
        example_starts = list(range(self.rows.start, self.rows.stop, self.example_chunk))
        single = len(example_starts) == 1
        direct = self._needs_direct(grid_a, grid_b)
        # chunks within a row: finished rows are posted as they come
        bounds = [(p0, min(p0 - p0 % na + na, p0 + chunk_points))
                  for p0 in (j * na + i0 for j in range(betas.size) for i0 in range(0, na, chunk_points))]
        for e_start in example_starts:
            e_stop = min(e_start + self.example_chunk, self.rows.stop)
            for _ in self._load_parts(e_start, e_stop):
                yield None if not single or e_start != example_starts[0] else 0
            kept = [~direct[p0:p1] for p0, p1 in bounds]
            chunks = ((grid_a[p0:p1][keep], grid_b[p0:p1][keep]) for (p0, p1), keep in zip(bounds, kept))
            results = self._chunk_results(chunks, self._blocks, threaded)
            try:
                for ((p0, p1), keep), chunk_sums in zip(zip(bounds, kept), results):
                    sums[p0:p1][keep] += chunk_sums
                    progress(p1 - p0)
                    if single:   # a chunk's flagged points: at most a chunk of direct evaluations
                        for _ in self._finish(grid_a[p0:p1], grid_b[p0:p1], sums[p0:p1],
                                              None if penalty is None else penalty[p0:p1], direct[p0:p1],
                                              out[p0:p1]):
                            pass
                        yield p1
                    else:
                        yield None
            finally:
                results.close()   # the workers stop after their current pass
        if not single:
            # the whole grid's flagged points, a few at a time (each is a full pass over the
            # examples): progress and cancel between them, their parameters under the budget
            yield from self._finish(grid_a, grid_b, sums, penalty, direct, out)
            yield out.size

    def _finish(self, a, b, sums, penalty, direct, out):
        """Fill ``out`` from the sums; the flagged points are evaluated directly (the total's
        penalty included), a few per step, yielding None between steps."""
        out[:] = sums / self.n_examples
        if penalty is not None:
            out += penalty
        flagged = np.flatnonzero(direct)
        per_point = 8 * self.objective.size + max(1, self.objective.bytes_per_point())
        per_step = int(max(1, min(self.workers * 2, self.budget_bytes // 4 // per_point)))
        for start in range(0, flagged.size, per_step):
            chosen = flagged[start:start + per_step]
            out[chosen] = self._direct(a[chosen], b[chosen])
            self.fallback_points += chosen.size
            if start + per_step < flagged.size:
                yield None

    # ----------------------------------------------------------------- driver
    def run(self, values):
        """Fill ``values`` (nb, na); yield (fraction, complete rows, preview or None)."""
        kind = self.component.kind
        nb, na = values.shape
        reg_values = None
        if kind in ("reg", "total"):
            mask = self.objective.reg_mask
            reg_values, fallback = penalty_grid(self.objective.regularizer, *(v[mask] for v in self.vectors),
                                                self.alphas, self.betas)
            self.fallback_points += fallback
            if kind == "reg":
                values[:] = reg_values
                yield 1.0, nb, None
                return
        threaded = self.workers > 1
        cached = self.example_chunk == self.n_examples
        stride = max(1, round(min(nb, na) / 25))
        coarse_a, coarse_b = self.alphas[::stride], self.betas[::stride]
        preview = self.preview and cached and stride > 1
        total_work = values.size * math.ceil(self.n_examples / self.example_chunk) + (
            coarse_a.size * coarse_b.size if preview else 0)
        done = [0]

        def progress(points):
            done[0] += points

        flat = values.reshape(-1)
        if preview:
            coarse = np.full((coarse_b.size, coarse_a.size), np.nan)
            penalty = None if reg_values is None else reg_values[::stride, ::stride].ravel()
            counted = self.fallback_points   # the preview's points are not the landscape's
            for _ in self._evaluate_points(coarse_a, coarse_b, penalty, coarse.reshape(-1), threaded, progress):
                yield min(done[0] / total_work, 0.999), 0, None
            self.fallback_points = counted
            yield done[0] / total_work, 0, (coarse_a, coarse_b, coarse)
        penalty = None if reg_values is None else reg_values.ravel()
        for finished in self._evaluate_points(self.alphas, self.betas, penalty, flat, threaded, progress):
            rows = 0 if finished is None else finished // na
            yield min(done[0] / total_work, 1.0 if finished == values.size else 0.999), rows, None
