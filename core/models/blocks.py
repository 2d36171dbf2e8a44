"""How an objective's flat parameter vector splits into blocks (layers' weights and biases)."""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Block:
    """One parameter block (a layer's weight array) inside the flat parameter vector.

    ``filter_axis`` is the axis that indexes filters (output units): 0 for a linear
    classifier's ``W`` (C x (D+1)), whose rows are class templates; 1 for a network's
    ``W1`` (D x H) and ``W2`` (H x C), whose columns are units. ``is_bias`` marks a
    network's bias vectors, which directions either zero or keep (see :func:`normalize`).
    """

    name: str
    shape: tuple
    offset: int
    filter_axis: int = 0
    is_bias: bool = False

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def view(self, flat):
        """The block's entries of a flat vector, shaped like the block (a view)."""
        return flat[self.offset:self.offset + self.size].reshape(self.shape)
