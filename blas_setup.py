"""A setting of the BLAS library that must be made before NumPy loads it: import this
module before NumPy. The app and the command line (``main.py``), the benchmarks and the
tests do; ``hillwalk.core`` itself sets nothing, so a notebook keeps its own settings.

After each product it shares among its threads, OpenBLAS keeps the idle threads
busy-waiting for 2^28 cycles, about 0.1 s on this project's machines, and each holds a
core meanwhile. Our own threads (the linear slice's workers, the network slice's, a
second job) and the GUI thread then wait for a core that does no work. Measured on a
digits 101 x 101 linear slice, right after a two-thread product: with the busy wait, two
workers took 0.92 of one worker's time (median of 15 pairs); with a wait of 2^16 cycles
(about 30 us, so that products in quick succession still find the threads awake), 0.67.
The process used 2.0 cores for a slice that kept one busy, and 1.0 after.

A value already in the environment is kept.
"""
import os

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "16")
