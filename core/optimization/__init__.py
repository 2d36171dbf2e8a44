"""Optimization: update rules and the paths they walk.

``optimizers`` holds the update rules (SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam,
random search and random local search) with explicit state, and the learning-rate
schedules; ``trajectory`` runs them on an objective a few steps at a time, records their
paths and projects paths onto planes. Imports only :mod:`core.errors` and NumPy, so it
works on any objective with ``loss`` and ``loss_and_grad``.
"""
