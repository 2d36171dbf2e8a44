"""The figures' right-click menus (pyqtgraph's: View All, the axes' options, the plot's
options, Export...), whose view-box part is built at the first right click
(gui.figures.MenuOnDemandViewBox)."""
from PyQt6 import QtCore, QtWidgets


def right_click_menu(qtbot, view, plot):
    """Right-click the middle of ``plot``'s view box in the GraphicsView ``view``, as a person
    does; returns the texts of the menu that pops up (closed again)."""
    centre = plot.vb.mapToScene(plot.vb.boundingRect().center())
    qtbot.mouseClick(view.viewport(), QtCore.Qt.MouseButton.RightButton, pos=view.mapFromScene(centre))
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activePopupWidget() is not None, timeout=5000)
    menu = QtWidgets.QApplication.activePopupWidget()
    texts = [action.text() for action in menu.actions()]
    menu.close()
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activePopupWidget() is None, timeout=5000)
    return texts


def test_each_figure_has_its_full_menu_at_the_first_right_click(window, qtbot):
    figures = [(window.heatmap.figure, window.heatmap.figure.plot),
               (window.cut_panel.plot_widget, window.cut_panel.plot),
               (window.curves.graphics, window.curves.shown_plots()[0])]
    for view, plot in figures:
        assert plot.vb.menu is None   # nothing built for a menu not yet opened
        texts = right_click_menu(qtbot, view, plot)
        # pyqtgraph's view-box menu, the plot's options and the scene's export entry
        assert "View All" in texts and "X axis" in texts and "Y axis" in texts and "Mouse Mode" in texts, texts
        assert "Plot Options" in texts and "Export..." in texts, texts
        menu = plot.vb.menu
        assert menu is not None
        # the second time, the same menu
        assert right_click_menu(qtbot, view, plot) == texts
        assert plot.vb.menu is menu


def test_view_all_from_the_built_menu_restores_a_zoomed_heatmap(window, qtbot):
    plot = window.heatmap.figure.plot
    view = window.heatmap.figure
    whole = plot.vb.viewRange()
    plot.vb.setRange(xRange=(0.0, 0.1), yRange=(0.0, 0.1), padding=0)   # zoomed in, as with the wheel
    right_click_menu(qtbot, view, plot)
    plot.vb.menu.viewAll.trigger()
    qtbot.waitUntil(lambda: plot.vb.viewRange()[0][1] - plot.vb.viewRange()[0][0] > 0.5 * (whole[0][1] - whole[0][0]),
                    timeout=5000)


def test_a_view_box_without_a_menu_still_has_none():
    from hillwalk.gui.figures import MenuOnDemandViewBox

    box = MenuOnDemandViewBox(enableMenu=False)
    assert not box.menuEnabled()
    assert box.getMenu(None) is None and box.getContextMenus(None) == []
    box.setMenuEnabled(True)   # pyqtgraph's own switch builds it
    assert box.menu is not None and box.getMenu(None) is box.menu
