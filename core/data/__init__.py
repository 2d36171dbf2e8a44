"""Data: the examples a classifier learns from.

``datasets`` holds :class:`~core.data.datasets.Dataset` (features ``X`` of shape (N, D),
integer labels ``y`` of shape (N,), class names, provenance), the embedded and synthetic
sets, the CSV / NPZ / CIFAR-10 loaders with their validation, preprocessing fitted on the
training part, and the stratified train/validation split. It imports nothing else from
core but :mod:`core.errors`, :mod:`core.limits` (the seed's range, the data budget) and
:mod:`core.io.files` (the regular-file check); every other part may import it.
"""
