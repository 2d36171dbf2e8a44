"""Models and losses: what can be minimised.

Score-level losses (``losses``: multiclass SVM, softmax), regularizers (L2, L1, elastic
net), the objectives built on them (``objectives``: the linear classifier; ``network``:
networks with hand-written forward/backward pairs), the 2-D test functions
(``testfunctions``) and ``problem``'s :class:`ClassifierSpec`, which turns settings into an
objective. Every objective offers ``loss(theta)`` and ``loss_and_grad(theta, batch=None)``
on a parameter array of shape ``param_shape``. Imports only :mod:`core.data` and
:mod:`core.errors`.
"""
