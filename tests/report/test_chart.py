import math

import numpy as np
import pytest
from PIL import Image

from dprune.report.chart import Chart, nice_ticks


@pytest.mark.parametrize("low, high", [(0.0, 1.0), (-3.2, 17.9), (0.001, 0.0042), (5.0, 5e4), (-1e6, 1.0)])
def test_linear_ticks_are_round_steps_inside_the_range(low, high):
    ticks = nice_ticks(low, high)
    assert 3 <= len(ticks) <= 12
    assert all(low - 1e-9 <= t <= high + 1e-9 for t in ticks)
    steps = np.diff(ticks)
    assert np.allclose(steps, steps[0])
    mantissa = steps[0] / 10 ** math.floor(math.log10(steps[0]))
    assert any(math.isclose(mantissa, m) for m in (1, 2, 5, 10))


def test_log_ticks_are_powers_of_ten_or_steps_inside_one_decade():
    assert nice_ticks(3.0, 25_000.0, log=True) == [10.0, 100.0, 1000.0, 10000.0]
    inside = nice_ticks(120.0, 900.0, log=True)
    assert inside and all(120 <= t <= 900 for t in inside)


def test_degenerate_range_gives_one_tick():
    assert nice_ticks(2.0, 2.0) == [2.0]
    assert len(nice_ticks(float("nan"), 1.0)) == 1


def test_data_coordinates_map_inside_the_plot_area_in_order():
    chart = Chart((400, 300), xlim=(1.0, 1000.0), ylim=(0.0, 10.0), xlog=True)
    left, top, right, bottom = chart.box
    xs = chart.x(np.array([1.0, 10.0, 100.0, 1000.0]))
    assert left < xs[0] < xs[1] < xs[2] < xs[3] < right
    assert np.allclose(np.diff(xs), np.diff(xs)[0])  # equal decades on a log axis
    ys = chart.y(np.array([0.0, 5.0, 10.0]))
    assert bottom > ys[0] > ys[1] > ys[2] > top


def test_saved_chart_has_its_size_and_the_colours_drawn(tmp_path):
    chart = Chart((300, 200), ylim=(0, 4), categories=["a", "b"], title="t", xlabel="x", ylabel="y")
    chart.bars([4, 2], "#1f77b4")
    path = chart.save(tmp_path / "bars.png")
    image = Image.open(path).convert("RGB")
    assert image.size == (300, 200)
    colours = {colour for _, colour in image.getcolors(maxcolors=1 << 16)}
    assert (0x1F, 0x77, 0xB4) in colours  # the bars' inside keeps its exact colour
