"""Charts a board prints: no two tick labels drawn over each other, no title cut at the edge.

The charts are measured, not looked at: each is drawn (with the report's figure size and fonts)
and the text's bounding boxes are compared. The data are the PCT instance's eight levels, whose
names ("Primary care trust", "PCT with the local authority") once ran into each other, and its
break-even chart, whose axis title was once cut to "…(100 % = breaks".
"""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from planner.reports import charts

PCT_LEVELS = ["Personal health budget", "GP practice", "Locality", "Primary care trust",
              "PCT with the local authority", "Regional", "Supra-regional", "National"]


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Figure]]:
    """Every figure a chart makes, drawn again after it is saved (saving to SVG leaves its text
    placed for 72 dpi), with the chart's settings and an Agg canvas to measure text by."""
    figures: list[Figure] = []
    original = charts.to_svg

    def keep(figure: Figure, name: str, title: str) -> str:
        svg = original(figure, name, title)
        FigureCanvasAgg(figure)
        with matplotlib.rc_context(charts._rc(name)):
            figure.draw_without_rendering()
        figures.append(figure)
        return svg

    monkeypatch.setattr(charts, "to_svg", keep)
    yield figures


def _boxes(texts) -> list[Bbox]:
    return [t.get_window_extent() for t in texts if t.get_visible() and t.get_text()]


def test_continuum_tick_labels_do_not_overlap(drawn: list[Figure]) -> None:
    levels = pd.DataFrame({"level": PCT_LEVELS,
                           "spend": [0, 0, 6.8e6, 281.3e6, 15.1e6, 36.8e6, 0.7e6, 0.2e6],
                           "services": [0, 0, 8, 53, 5, 13, 4, 3]})
    assert charts.continuum(levels, "Spend commissioned at each level")
    (figure,) = drawn
    boxes = _boxes(figure.axes[0].get_xticklabels())
    assert len(boxes) == len(PCT_LEVELS)
    overlaps = [(PCT_LEVELS[i], PCT_LEVELS[j]) for i in range(len(boxes))
                for j in range(i + 1, len(boxes)) if boxes[i].overlaps(boxes[j])]
    assert overlaps == []
    # every label is whole: wrapped at spaces, not cut or broken inside a word
    shown = [t.get_text() for t in figure.axes[0].get_xticklabels()]
    assert [" ".join(s.split()) for s in shown] == PCT_LEVELS


def test_continuum_with_many_long_levels_still_does_not_overlap(drawn: list[Figure]) -> None:
    """Labels too long to wrap into their slot (one long word) are turned instead."""
    names = [f"Commissioningunitnumber{i}" for i in range(12)]
    levels = pd.DataFrame({"level": names, "spend": [1e6] * 12, "services": [1] * 12})
    charts.continuum(levels, "Spend commissioned at each level")
    (figure,) = drawn
    boxes = _boxes(figure.axes[0].get_xticklabels())
    assert not any(boxes[i].overlaps(boxes[j]) for i in range(len(boxes))
                   for j in range(i + 1, len(boxes)))
    assert all(b.x0 >= 0 for b in boxes)


def test_break_even_axis_title_is_whole_in_the_saved_image(drawn: list[Figure]) -> None:
    providers = ["Independent sector treatment centre (wave 1, guaranteed-volume contract)",
                 "Wirral Community Health and Care NHS FT (the PCT's provider arm in 2010)",
                 "Local hospice (charity)", "Civic Medical Centre"]
    frame = pd.DataFrame({"provider": providers, "income": [4.27e6, 14.9e6, 1.8e6, 1.0e6],
                          "min_income": [4.27e6, 14.9e6, 1.0e6, 1.0e6]})
    assert charts.break_even(frame, "Income against break-even income")
    (figure,) = drawn
    page = figure.bbox
    label = figure.axes[0].xaxis.label
    box = label.get_window_extent()
    assert page.x0 <= box.x0 and box.x1 <= page.x1, (box, page)
    assert page.y0 <= box.y0
    assert "breaks even" in label.get_text().replace("\n", " ")


def test_fair_shares_axis_reads_in_pounds(drawn: list[Figure]) -> None:
    """The Fair shares chart's axis is £ per need-weighted head: its ticks say £ (£1,000, not
    1000)."""
    from planner.reports import areas

    frame = pd.DataFrame({"area": ["Birkenhead", "Wallasey"], "spend_per_head": [1040.0, 980.0],
                          "mean_spend_per_head": [1010.0] * 2, "low": [909.0] * 2,
                          "high": [1111.0] * 2})
    areas.chart(frame)
    (axis,) = drawn[-1].axes
    ticks = [t.get_text() for t in axis.get_xticklabels() if t.get_text()]
    assert ticks and all(t.startswith("£") for t in ticks), ticks
