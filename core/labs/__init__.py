"""Labs: the computations behind each lesson of the notes.

``gradcheck`` compares analytic with numerical gradients (relative errors, kinks, h
sweeps); ``lessons`` holds the other labs' computations (step-size sweep, sanity checks,
hinge anatomy, decision regions, initialization statistics); ``tasks`` wraps each lab's
"given these settings, compute X" as one function with progress and cancel, returning a
result dataclass, and says where each lab applies (what the app's workers run). Built on
:mod:`core.models`, :mod:`core.landscapes` and :mod:`core.optimization`; nothing below
imports it.
"""

# The labs (here, not in tasks: a window lists them without importing their computations)
LAB_NAMES = ("loss", "gradcheck", "stepsize", "sanity", "compare", "hinge", "regions", "models", "init", "curvature",
             "search", "babysit")
# Labs that compute from their own settings alone (the notes' own example), not from the
# scene: no objective, plane or race enters them, so a new scene leaves their result alone.
SCENE_FREE_LABS = ("loss",)
