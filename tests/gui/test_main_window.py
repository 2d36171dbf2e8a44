"""The main window as a person sees it."""
import numpy as np
from PyQt6 import QtWidgets

from gui.main_window import MainWindow, digit_montage


def test_window_shows_the_app_name_and_the_default_data_set(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.windowTitle() == "Hillwalk"
    title = window.findChild(QtWidgets.QLabel, "titleLabel")
    assert "Hillwalk" in title.text()
    dataset_label = window.findChild(QtWidgets.QLabel, "datasetLabel")
    assert "digits: 1797 examples x 64 features, 10 classes" in dataset_label.text()
    assert "CC BY 4.0" in dataset_label.text()
    assert "Loaded digits" in window.statusBar().currentMessage()


def test_screenshot_of_the_window_is_not_blank(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(900, 700)
    window.show()
    qtbot.waitExposed(window)
    image = window.grab().toImage()
    assert image.width() == 900 and image.height() == 700
    pixels = np.array([[image.pixel(x, y) for x in range(0, 900, 15)] for y in range(0, 700, 15)])
    assert np.unique(pixels).size > 20  # text, the digit montage and the frame: far from uniform


def test_digit_montage_tiles_one_row_per_class():
    X = np.arange(20 * 64, dtype=float).reshape(20, 64)
    y = np.repeat([0, 1], 10)
    montage = digit_montage(X, y, per_class=3)
    assert montage.shape == (18, 27)
    np.testing.assert_array_equal(montage[:8, :8], X[0].reshape(8, 8))
    np.testing.assert_array_equal(montage[9:17, 9:17], X[11].reshape(8, 8))
