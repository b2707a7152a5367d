#!/usr/bin/env python
"""Screenshots of a report for the README: the summary, the data map with a hovered point, a selection, the scores.

    python scripts/report_screenshots.py out/prune/report/report.html docs/

Needs Chromium and websocket-client (see :mod:`dprune.report.browser`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dprune.report.browser import Chromium

#: The hover target: a point of the data map far from its neighbours, low on the map (a hard row).
HOVER_TARGET = """(() => {
  document.getElementById('map').scrollIntoView();
  const points = [...document.querySelectorAll('#datamap path.point')].map(el => {
    const r = el.getBoundingClientRect(); return {x: r.x + r.width / 2, y: r.y + r.height / 2}; });
  const plot = document.querySelector('#datamap .nsewdrag').getBoundingClientRect();
  const low = points.filter(p => p.y > plot.y + plot.height * 0.55 && p.x < plot.x + plot.width * 0.6);
  let best = low[0], gap = -1;
  for (const p of low.slice(0, 400)) {
    let g = Infinity;
    for (const q of points) if (q !== p) g = Math.min(g, Math.hypot(p.x - q.x, p.y - q.y));
    if (g > gap) { gap = g; best = p; }
  }
  return best;
})()"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path, help="report.html")
    parser.add_argument("output", type=Path, help="folder for the PNGs")
    parser.add_argument("--scale", type=float, default=0.6, help="shrink factor of the PNGs")
    args = parser.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    with Chromium(width=1280, height=900) as browser:
        browser.open(args.report)
        browser.screenshot(args.output / "report-summary.png", selector="body", scale=args.scale, height=760)
        target = browser.evaluate(HOVER_TARGET)
        browser.move_mouse(target["x"] - 2, target["y"] - 2)
        browser.move_mouse(target["x"], target["y"])
        browser.wait_for("!!document.querySelector('#datamap .hovertext')")
        browser.screenshot(args.output / "report-data-map.png", selector="#map", scale=args.scale)
        browser.move_mouse(1, 1)
        browser.evaluate("document.getElementById('scores').scrollIntoView(); true")
        browser.screenshot(args.output / "report-scores.png", selector="#scores", scale=args.scale)
        browser.evaluate("(() => { document.querySelector('#summary-table tr.link[data-key]').click();"
                         " document.getElementById('rows').scrollIntoView(); return true; })()")
        browser.screenshot(args.output / "report-rows.png", scale=args.scale)
        if browser.errors:
            print("\n".join(browser.errors), file=sys.stderr)
            return 1
    print(f"screenshots in {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
