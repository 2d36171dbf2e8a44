"""Hillwalk's Qt user interface. Depends on core; core never imports it."""
import pyqtgraph as pg

# Image arrays are indexed [row, column] = [b, a] everywhere in Hillwalk (set once, here).
pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)
