"""Sessions and exports: what goes to and comes from files.

``session`` is the whole experiment as one validated, versioned, JSON-serializable
:class:`Session`; ``export`` writes slices and paths as NPZ or CSV. The top of core: it
may import every other part, and only the experiment layer and the applications import it.
"""
