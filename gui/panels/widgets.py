"""Small input widgets shared by the control panels."""
from __future__ import annotations

import math
import re

from PyQt6 import QtCore, QtGui, QtWidgets

# text that is only the beginning of a number: a sign, a point, or a mantissa awaiting its exponent
_NUMBER_BEGUN = re.compile(r"^[-+]?[.,]?$|^[-+]?\d*[.,]?\d*[eE][-+]?$")


def _typed_number(text):
    """The number in a spin box's text (None when it is not one yet: "", "-", "1e")."""
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class _ReportsOutOfRange:
    """Spin-box behaviour: a number typed outside the box's range is neither refused key by
    key nor silently clamped or cut (Qt would turn 1.5 typed into a momentum box of range
    [0, 0.999] into 0.5); when the edit ends (Enter, or the focus leaves) it is offered to
    ``out_of_range`` (the panel hands it to the state, which refuses it with the valid range
    in one message) and the box shows the value in force again."""

    def validate(self, text, position):
        state, text, position = super().validate(text, position)
        if state == QtGui.QValidator.State.Invalid:
            typed = self._strip_affixes(text)
            value = _typed_number(typed)
            if value is not None and not self.minimum() <= value <= self.maximum():
                return QtGui.QValidator.State.Intermediate, text, position
            if _NUMBER_BEGUN.match(typed):  # "-", "1e-": the start of a number that may be out of range
                return QtGui.QValidator.State.Intermediate, text, position
        return state, text, position

    def _strip_affixes(self, text):
        text = text.strip()
        prefix, suffix = self.prefix(), self.suffix()
        if prefix and text.startswith(prefix):
            text = text[len(prefix):]
        if suffix and text.endswith(suffix):
            text = text[:-len(suffix)]
        return text

    def _offer_typed_value(self):
        value = _typed_number(self._strip_affixes(self.lineEdit().text()))
        if value is not None and not self.minimum() <= value <= self.maximum():
            self.out_of_range.emit(value)

    def keyPressEvent(self, event):
        if event.key() in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter):
            self._offer_typed_value()
        super().keyPressEvent(event)

    def focusOutEvent(self, event):
        self._offer_typed_value()
        super().focusOutEvent(event)


class RangeSpinBox(_ReportsOutOfRange, QtWidgets.QSpinBox):
    """A whole-number box that reports numbers typed outside its range (see
    :class:`_ReportsOutOfRange`). Its value changes when typing ends, not at every key:
    on the way to 1000000 the box would otherwise pass through 100 and apply it."""

    out_of_range = QtCore.pyqtSignal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setKeyboardTracking(False)


class RangeDoubleSpinBox(_ReportsOutOfRange, QtWidgets.QDoubleSpinBox):
    """A number box that reports numbers typed outside its range (see
    :class:`_ReportsOutOfRange`); like :class:`RangeSpinBox`, its value changes when typing ends."""

    out_of_range = QtCore.pyqtSignal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setKeyboardTracking(False)


def bind_range(box, name, refuse):
    """Give ``box`` the valid range ``core.limits.RANGES[name]`` (an open end one display
    step inside) and send numbers typed outside it to ``refuse(name, value)``."""
    from hillwalk.core.limits import RANGES

    valid = RANGES[name]
    if isinstance(box, ScientificSpinBox):  # decades: keep values such as eps = 1e-14 as they are
        box.setDecimals(max(box.decimals(), 20))
    step = 1 if isinstance(box, QtWidgets.QSpinBox) else 10.0 ** -box.decimals()
    low = valid.low + (step if valid.open_low else 0)
    high = valid.high - (step if valid.open_high else 0)
    if isinstance(box, QtWidgets.QSpinBox):  # a C int holds the box's value
        low, high = int(max(low, -2 ** 31)), int(min(high, 2 ** 31 - 1))
    box.setRange(low, high)
    box.out_of_range.connect(lambda value: refuse(name, value, box.minimum(), box.maximum()))
    return box


class ScientificSpinBox(RangeDoubleSpinBox):
    """A spin box for positive quantities spanning decades (learning rates, lambda).

    Shows values like ``3e-04``; the arrows multiply or divide by about 2 (1, 2, 5 steps
    per decade), which is how such values are searched (on a log scale).
    """

    LADDER = (1.0, 2.0, 5.0)

    def __init__(self, minimum=1e-8, maximum=1e3, value=1e-3, allow_zero=False, parent=None):
        super().__init__(parent)
        self.allow_zero = allow_zero
        self.setDecimals(12)
        self.setRange(0.0 if allow_zero else minimum, maximum)
        self._minimum_positive = minimum
        self.setValue(value)
        self.setKeyboardTracking(False)

    def textFromValue(self, value):
        if value == 0:
            return "0"
        return f"{value:.3g}"

    def valueFromText(self, text):
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text, position):
        stripped = text.strip()
        if stripped in ("", "-", "+", ".") or stripped.lower().endswith(("e", "e-", "e+")):
            return QtGui.QValidator.State.Intermediate, text, position
        try:
            value = float(stripped)
        except ValueError:
            return QtGui.QValidator.State.Invalid, text, position
        if not math.isfinite(value) or value < self.minimum() or value > self.maximum():
            return QtGui.QValidator.State.Intermediate, text, position  # reported when the edit ends
        return QtGui.QValidator.State.Acceptable, text, position

    def stepBy(self, steps):
        value = self.value()
        if value <= 0:
            value = self._minimum_positive
            steps -= 1 if steps > 0 else 0
        for _ in range(abs(steps)):
            value = self._next(value, up=steps > 0)
        self.setValue(min(max(value, self.minimum()), self.maximum()))

    def _next(self, value, up):
        exponent = math.floor(math.log10(value))
        mantissa = value / 10 ** exponent
        ladder = [m * 10 ** e for e in (exponent - 1, exponent, exponent + 1) for m in self.LADDER]
        if up:
            return min((v for v in ladder if v > value * (1 + 1e-9)), default=value * 2)
        below = [v for v in ladder if v < value * (1 - 1e-9)]
        return max(below) if below else value / 2 if mantissa else value


def labelled_row(layout: QtWidgets.QFormLayout, label: str, widget, tooltip: str):
    """Add ``widget`` under ``label`` with the same tooltip on both."""
    widget.setToolTip(tooltip)
    title = QtWidgets.QLabel(label)
    title.setToolTip(tooltip)
    layout.addRow(title, widget)
    return widget


def push_button(text: str, object_name: str, tooltip: str = "", enabled: bool = True):
    """A push button with its object name (what tests find it by), tooltip and state."""
    button = QtWidgets.QPushButton(text)
    button.setObjectName(object_name)
    if tooltip:
        button.setToolTip(tooltip)
    button.setEnabled(enabled)
    return button


def combo(items, current=None, tooltip=""):
    """A combo box of (text, data) pairs."""
    box = QtWidgets.QComboBox()
    # long item texts must not force a wide window: show about 14 characters, the rest on open
    box.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(14)
    for text, data in items:
        box.addItem(text, data)
    if current is not None:
        select_data(box, current)
    box.setToolTip(tooltip)
    return box


def select_data(box: QtWidgets.QComboBox, data):
    index = box.findData(data)
    if index >= 0 and index != box.currentIndex():
        was = box.blockSignals(True)
        box.setCurrentIndex(index)
        box.blockSignals(was)


def set_quietly(widget, value):
    """Set a spin box / check box value without emitting change signals."""
    was = widget.blockSignals(True)
    if isinstance(widget, QtWidgets.QAbstractButton):
        widget.setChecked(bool(value))
    else:
        widget.setValue(value)
    widget.blockSignals(was)


def set_applicable(widget, applies: bool, why_not: str = ""):
    """Enable ``widget`` (and its form label) only where its setting means something;
    when disabled its tooltip says why, after the setting's own description."""
    base = widget.property("baseToolTip")
    if base is None:
        base = widget.toolTip()
        widget.setProperty("baseToolTip", base)
    widget.setEnabled(bool(applies))
    tooltip = base if applies or not why_not else (f"{base}\n\nDisabled: {why_not}" if base else f"Disabled: {why_not}")
    widget.setToolTip(tooltip)
    label = _form_label(widget)
    if label is not None:
        label.setEnabled(bool(applies))
        label.setToolTip(tooltip)


def _form_label(widget):
    """The label of ``widget``'s row in a QFormLayout, if it sits in one."""
    parent = widget.parentWidget()
    layout = parent.layout() if parent is not None else None
    if isinstance(layout, QtWidgets.QFormLayout):
        return layout.labelForField(widget)
    return None


def set_item_applicable(box: QtWidgets.QComboBox, data, applies: bool, why_not: str = ""):
    """Enable one item of a combo box (found by its data) only where it means something;
    a disabled item cannot be chosen and its tooltip says why."""
    index = box.findData(data)
    item = box.model().item(index) if index >= 0 else None
    if item is None:
        return
    item.setEnabled(bool(applies))
    box.setItemData(index, None if applies else f"Disabled: {why_not}", QtCore.Qt.ItemDataRole.ToolTipRole)


def run_ending_note(run) -> str:
    """What the legend adds after a run's label when it stopped early: ' (diverged at
    step t)' or, on an objective unbounded below, ' (unbounded below: escaped at step t)'.
    ``run`` is a RunResult (a :class:`core.optimization.paths.PathRecord`)."""
    if run.escaped_at is not None:
        return f" (unbounded below: escaped at step {run.escaped_at})"
    if run.diverged_at is not None:
        return f" (diverged at step {run.diverged_at})"
    return ""


class LayoutFence(QtWidgets.QWidget):
    """Holds one widget, sized to fill the fence; the widget's size hint changes stop here.

    A label asks its parent's layout to lay itself out again at every new text (Qt does so
    unless the label's size is fixed). In the status bar that reached the main window: the
    progress words of four interleaved runs changed its width ~70 times per
    regularization change, and each time the window laid out its docks and central
    widget again. Inside a fence, which has no layout, the request ends here. The fence
    has a fixed height (the widget's, when fenced) and takes the width its own layout
    gives it; a longer text is cut at the fence's edge."""

    def __init__(self, inner: QtWidgets.QWidget, parent=None):
        super().__init__(parent)
        self.inner = inner
        inner.setParent(self)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
        self.setFixedHeight(inner.sizeHint().height())
        self.setMinimumWidth(0)

    def sizeHint(self):
        return QtCore.QSize(0, self.height())

    def resizeEvent(self, event):
        self.inner.setGeometry(self.rect())
        super().resizeEvent(event)
