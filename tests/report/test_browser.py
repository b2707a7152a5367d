"""The report in a real browser: headless Chromium driven over the DevTools protocol.

No JavaScript error may reach the console; the data map holds one point per
plotted row; hovering a point shows its text; a box selection lists its rows;
the row search filters; audio rows get a player. Skips only when Chromium (or
the protocol client) is not installed.
"""

from __future__ import annotations

import re

import pytest

from dprune.report import build_report
from dprune.report.browser import Chromium, find_chromium

from report_tables import make_table

websocket = pytest.importorskip("websocket", reason="websocket-client (the test extra) drives the browser")
if find_chromium() is None:
    pytest.skip("Chromium is not installed (Debian: apt-get install chromium; scripts/setup.sh does it as root)",
                allow_module_level=True)

#: The point of the data map farthest from its neighbours (so the hover cannot pick another one), with its row.
ISOLATED_POINT = """(() => {
  document.getElementById('map').scrollIntoView();
  const gd = document.getElementById('datamap');
  const points = [];
  gd.querySelectorAll('.scatterlayer .trace').forEach((trace, k) => trace.querySelectorAll('path.point').forEach((el, n) => {
    const r = el.getBoundingClientRect();
    points.push({k, n, x: r.x + r.width / 2, y: r.y + r.height / 2});
  }));
  let best = null, bestGap = -1;
  for (const p of points.slice(0, 400)) {
    let gap = Infinity;
    for (const q of points) if (q !== p) gap = Math.min(gap, Math.hypot(p.x - q.x, p.y - q.y));
    if (gap > bestGap) { bestGap = gap; best = p; }
  }
  const row = gd.data[best.k].customdata[best.n];
  return {x: best.x, y: best.y, gap: bestGap, text: D.sample.text[row]};
})()"""
HOVER_TEXT = "document.querySelector('#datamap .hoverlayer .hovertext')?.textContent"
POINTS = "document.querySelectorAll('#datamap .scatterlayer path.point').length"


def _letters(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _box(browser, selector: str) -> dict:
    """``{x, y, w, h}``: the bounding box of the first element matching ``selector``, in viewport pixels."""
    return browser.evaluate(f"(() => {{ const r = document.querySelector({selector!r}).getBoundingClientRect();"
                            " return {x: r.x, y: r.y, w: r.width, h: r.height}; })()")


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    output = tmp_path_factory.mktemp("report")
    table = make_table(600, audio_dir=output / "clips")
    paths = build_report(table, output / "report", figures=False)
    with Chromium() as browser:
        browser.open(paths.html)
        yield browser, table, paths
    assert not browser.errors, browser.errors


def test_loads_without_javascript_errors_and_the_map_holds_one_point_per_row(page):
    browser, table, _ = page
    assert browser.errors == []
    assert browser.evaluate(POINTS) == table.num_rows == browser.evaluate("window.dpruneMapPoints")
    kept = sum(table.column("kept").to_pylist())
    per_trace = browser.evaluate(
        "[...document.querySelectorAll('#datamap .scatterlayer .trace')].map(t => t.querySelectorAll('path.point').length)")
    assert per_trace == [kept, table.num_rows - kept]
    assert browser.evaluate("document.querySelectorAll('#histograms .js-plotly-plot').length") == 4
    assert "log axis" in browser.evaluate("document.getElementById('histograms').textContent")


def test_hovering_a_point_shows_its_text(page):
    browser, _, _ = page
    point = browser.evaluate(ISOLATED_POINT)
    assert point["gap"] > 3, "no isolated point to hover"
    browser.move_mouse(point["x"] - 2, point["y"] - 2)
    browser.move_mouse(point["x"], point["y"])
    shown = browser.wait_for(HOVER_TEXT, timeout=10)
    assert _letters(point["text"]) in _letters(shown)
    assert "label:" in shown and "perplexity:" in shown
    browser.move_mouse(1, 1)


def test_a_box_selection_on_the_map_lists_exactly_its_rows(page):
    browser, _, _ = page
    browser.evaluate("document.getElementById('map').scrollIntoView(); "
                     "Plotly.relayout('datamap', {dragmode: 'select'}).then(() => true)")
    box = _box(browser, "#datamap .nsewdrag")
    x0, y0, x1, y1 = box["x"] + box["w"] * 0.2, box["y"] + box["h"] * 0.3, box["x"] + box["w"] * 0.6, box["y"] + box["h"] * 0.8
    inside = browser.evaluate(
        f"[...document.querySelectorAll('#datamap path.point')].filter(el => {{ const r = el.getBoundingClientRect();"
        f" const x = r.x + r.width / 2, y = r.y + r.height / 2; return x > {x0} && x < {x1} && y > {y0} && y < {y1}; }}).length")
    assert inside > 10
    browser.call("Input.dispatchMouseEvent", type="mousePressed", x=x0, y=y0, button="left", clickCount=1)
    for step in range(1, 11):
        browser.move_mouse(x0 + (x1 - x0) * step / 10, y0 + (y1 - y0) * step / 10)
    browser.call("Input.dispatchMouseEvent", type="mouseReleased", x=x1, y=y1, button="left", clickCount=1)
    counted = browser.wait_for("(document.getElementById('rows-count').textContent.match(/^(\\d+) rows selected/) || [])[1]")
    assert abs(int(counted) - inside) <= 1  # a point on the very edge may fall either way
    shown = browser.evaluate("document.querySelectorAll('#rows-table tbody tr').length")
    assert shown == min(int(counted), 200)


def test_searching_the_rows_and_the_extremes_filters_them(page):
    browser, table, _ = page
    browser.evaluate("document.getElementById('rows-clear').click(); const s = document.getElementById('rows-search');"
                     " s.value = 'film 42'; s.dispatchEvent(new Event('input')); true")
    texts = browser.evaluate("[...document.querySelectorAll('#rows-table tbody td.text')].map(td => td.textContent)")
    expected = [t for t in table.column("text").to_pylist() if "film 42" in t]
    assert sorted(texts) == sorted(expected) and expected
    count = browser.evaluate("(() => { const s = document.getElementById('extremes-score'); s.value = 'aum';"
                             " s.dispatchEvent(new Event('change'));"
                             " return document.querySelectorAll('#extremes-table tbody tr').length; })()")
    assert count == 40


def test_audio_rows_get_a_player_for_a_clip_in_the_report_folder(page):
    browser, _, paths = page
    sources = browser.evaluate("[...document.querySelectorAll('#extremes-table audio')].map(a => a.getAttribute('src'))")
    assert sources and all((paths.html.parent / src).read_bytes()[:4] == b"OggS" for src in sources)
    duration = browser.evaluate(
        "new Promise(done => { const a = document.querySelector('#extremes-table audio');"
        " a.preload = 'auto'; a.onloadedmetadata = () => done(a.duration); a.onerror = () => done(-1); a.load(); })")
    assert duration == pytest.approx(0.2, abs=0.05)  # Ogg Vorbis pads its last block


def test_clicking_a_class_bar_lists_that_class(page):
    browser, table, _ = page
    browser.evaluate("const q = document.getElementById('rows-search'); q.value = ''; q.dispatchEvent(new Event('input'));"
                     " document.getElementById('retention').scrollIntoView(); true")
    bar = _box(browser, "#retention-0 .bars path")
    x, y = bar["x"] + bar["w"] / 2, bar["y"] + bar["h"] / 2
    for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
        browser.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)
    counted = browser.wait_for("(document.getElementById('rows-count').textContent.match(/^label (\\w+).*: (\\d+) rows/) || null)")
    labels = table.column("label").to_pylist()
    assert int(counted[2]) == labels.count(counted[1]) > 0


def test_the_driver_reports_console_errors_and_uncaught_exceptions(tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text("<script>console.error('bad value', 3); window.dpruneReady = true;"
                      " setTimeout(() => { throw new Error('boom'); });</script>")
    with Chromium() as browser:
        browser.open(broken)
        browser.wait_for("new Promise(done => setTimeout(() => done(true), 50))")
        errors = list(browser.errors)
    assert any("bad value 3" in e for e in errors) and any("boom" in e for e in errors)


@pytest.mark.slow
def test_the_bundled_data_report_is_sampled_and_error_free(tmp_path):
    import numpy as np

    from dprune.core.base import with_column
    from dprune.data import load_dataset
    from dprune.report import MAX_POINTS, write_report

    data = load_dataset("rotten_tomatoes", split="train")
    rng = np.random.default_rng(0)
    for name, values in {"perplexity": np.exp(rng.normal(6, 1, len(data))), "cluster_id": rng.integers(0, 10, len(data)),
                         "data_map_confidence": rng.uniform(0, 1, len(data)),
                         "data_map_variability": rng.uniform(0, 0.5, len(data))}.items():
        data = with_column(data, name, values)
    paths = write_report(data, np.flatnonzero(rng.random(len(data)) < 0.5), tmp_path / "report")
    with Chromium() as browser:
        browser.open(paths.html)
        assert browser.evaluate(POINTS) == MAX_POINTS < len(data)
        point = browser.evaluate(ISOLATED_POINT)
        browser.move_mouse(point["x"] - 2, point["y"] - 2)
        browser.move_mouse(point["x"], point["y"])
        assert _letters(point["text"]) in _letters(browser.wait_for(HOVER_TEXT, timeout=10))
        assert set(browser.evaluate("[...new Set(D.sample.label)]")) == {"rotten", "fresh"}
        assert browser.errors == []
