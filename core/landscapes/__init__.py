"""Landscapes: looking at a loss along lines and planes.

``directions`` draws and normalizes the directions of a plane (random, filter-normalized,
gradient, PCA of a path, coordinates); ``centers`` trains the point a slice is centred on;
``landscape`` evaluates 1-D cuts ``L(W + a d1)`` and 2-D slices ``L(W + a d1 + b d2)`` on a
grid (exact fast paths for linear models, a chunked batched path for the rest);
``slices``' :class:`SliceSpec` is the settings of one slice (contour lines are traced on
the GUI side, by contourpy: :mod:`gui.contours`). Imports :mod:`core.models`, :mod:`core.data` and :mod:`core.errors`, never
:mod:`core.optimization`, :mod:`core.labs` or :mod:`core.io`.
"""
