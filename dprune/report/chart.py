"""A small PNG chart drawn with Pillow: one plot area, linear or log x axis, bars, steps, points.

The report's static figures need a handful of shapes, and a re-prune draws them
for every new selection; drawing them here costs milliseconds where a general
plotting library costs a second to import and draw. A chart is drawn at twice its
size and scaled down, which smooths its edges and text.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["Chart", "nice_ticks"]

SCALE = 2
MARGINS = (70, 16, 40, 54)  # left, right, top, bottom, in pixels of the final image
FONT_SIZE, TITLE_SIZE = 11, 13
AXIS_COLOUR, GRID_COLOUR, TEXT_COLOUR = (60, 60, 60), (225, 225, 225), (30, 30, 30)


def nice_ticks(low: float, high: float, *, log: bool = False, count: int = 6) -> list[float]:
    """Round tick values between ``low`` and ``high``: 1-2-5 steps, or powers of ten on a log axis."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    if log:
        first, last = math.ceil(math.log10(low)), math.floor(math.log10(high))
        ticks = [10.0 ** e for e in range(first, last + 1)]
        if len(ticks) < 2:  # less than a decade: 1-2-5 steps
            ticks = [m * 10.0 ** e for e in range(first - 1, last + 1) for m in (1, 2, 5) if low <= m * 10.0 ** e <= high]
        return ticks or [low, high]
    raw = (high - low) / count
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    start = math.ceil(low / step - 1e-9) * step
    return [round(start + i * step, 12) for i in range(int((high - start) / step + 1e-9) + 1)]


def tick_label(value: float) -> str:
    """A short label for a tick value."""
    return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.0e}"


class Chart:
    """A plot area of ``size`` pixels with data limits ``xlim`` x ``ylim``; add shapes, then :meth:`save`.

    ``categories`` makes the x axis categorical (one slot per name, as for bars).
    """

    def __init__(
        self,
        size: tuple[int, int],
        *,
        xlim: tuple[float, float] = (0.0, 1.0),
        ylim: tuple[float, float] = (0.0, 1.0),
        xlog: bool = False,
        categories: Sequence[str] | None = None,
        title: str = "",
        xlabel: str = "",
        ylabel: str = "",
    ) -> None:
        self.width, self.height = size
        self.xlog, self.categories = xlog, list(categories) if categories is not None else None
        if self.categories is not None:
            xlim = (-0.5, len(self.categories) - 0.5)
        self.xlim, self.ylim = _padded(xlim, xlog), _padded(ylim, False)
        self.image = Image.new("RGB", (self.width * SCALE, self.height * SCALE), "white")
        self.draw = ImageDraw.Draw(self.image, "RGBA")
        self.font = ImageFont.load_default(size=FONT_SIZE * SCALE)
        self.title_font = ImageFont.load_default(size=TITLE_SIZE * SCALE)
        left, right, top, bottom = MARGINS
        self.box = (left * SCALE, top * SCALE, (self.width - right) * SCALE, (self.height - bottom) * SCALE)
        self._axes(title, xlabel, ylabel)

    def x(self, values: np.ndarray | float) -> np.ndarray:
        """Pixel columns of data x ``values``."""
        low, high = self.xlim
        values = np.asarray(values, dtype=np.float64)
        if self.xlog:
            values, low, high = np.log10(np.maximum(values, 1e-300)), math.log10(low), math.log10(high)
        return self.box[0] + (values - low) / (high - low) * (self.box[2] - self.box[0])

    def y(self, values: np.ndarray | float) -> np.ndarray:
        """Pixel rows of data y ``values``."""
        low, high = self.ylim
        return self.box[3] - (np.asarray(values, dtype=np.float64) - low) / (high - low) * (self.box[3] - self.box[1])

    def stairs(self, counts: np.ndarray, edges: np.ndarray, colour: str, alpha: float = 1.0) -> None:
        """A filled step histogram: ``counts[i]`` over ``[edges[i], edges[i + 1])``."""
        fill = _rgba(colour, alpha)
        xs, tops, base = self.x(edges), self.y(counts), float(self.y(max(self.ylim[0], 0.0)))
        for left, right, top in zip(xs[:-1], xs[1:], tops):
            if top < base:
                self.draw.rectangle((left, top, right, base), fill=fill)

    def bars(self, heights: Sequence[float], colour: str, width: float = 0.8) -> None:
        """One bar per category, ``width`` of a slot wide."""
        base = float(self.y(max(self.ylim[0], 0.0)))
        for i, height in enumerate(heights):
            left, right = self.x(i - width / 2), self.x(i + width / 2)
            self.draw.rectangle((left, float(self.y(height)), right, base), fill=_rgba(colour))

    def points(self, x: np.ndarray, y: np.ndarray, colours: Sequence[str], radius: float = 2.0, alpha: float = 0.6) -> None:
        """A scatter of points, each in its own colour."""
        r = radius * SCALE / 2
        fills = {c: _rgba(c, alpha) for c in set(colours)}
        for px, py, colour in zip(self.x(x), self.y(y), colours):
            if math.isfinite(px) and math.isfinite(py):
                self.draw.ellipse((px - r, py - r, px + r, py + r), fill=fills[colour])

    def vline(self, value: float, colour: str = "#000000") -> None:
        """A dashed vertical line at data x ``value``."""
        px, dash = float(self.x(value)), 6 * SCALE
        for top in range(int(self.box[1]), int(self.box[3]), 2 * dash):
            self.draw.line((px, top, px, min(top + dash, self.box[3])), fill=_rgba(colour), width=SCALE)

    def legend(self, entries: Sequence[tuple[str, str]]) -> None:
        """Coloured squares and names in the top right corner of the plot area."""
        size, gap = 9 * SCALE, 4 * SCALE
        width = max(self.draw.textlength(name, font=self.font) for name, _ in entries) + size + 3 * gap
        left, top = self.box[2] - width - gap, self.box[1] + gap
        height = len(entries) * (size + gap) + gap
        self.draw.rectangle((left, top, left + width, top + height), fill=(255, 255, 255, 220), outline=GRID_COLOUR)
        for i, (name, colour) in enumerate(entries):
            y = top + gap + i * (size + gap)
            self.draw.rectangle((left + gap, y, left + gap + size, y + size), fill=_rgba(colour))
            self.draw.text((left + 2 * gap + size, y + size / 2), name, font=self.font, fill=TEXT_COLOUR, anchor="lm")

    def save(self, path: str | Path) -> Path:
        """Draw the frame and write the PNG, scaled down to its final size."""
        self.draw.rectangle(self.box, outline=AXIS_COLOUR, width=SCALE)
        self.image.reduce(SCALE).save(path, compress_level=1)
        return Path(path)

    def _axes(self, title: str, xlabel: str, ylabel: str) -> None:
        left, top, right, bottom = self.box
        tick = 4 * SCALE
        for value in nice_ticks(*self.ylim):
            py = float(self.y(value))
            self.draw.line((left, py, right, py), fill=GRID_COLOUR, width=1)
            self.draw.text((left - tick - 2, py), tick_label(value), font=self.font, fill=TEXT_COLOUR, anchor="rm")
        if self.categories is not None:
            self._category_labels()
        else:
            for value in nice_ticks(*self.xlim, log=self.xlog):
                px = float(self.x(value))
                self.draw.line((px, bottom, px, bottom + tick), fill=AXIS_COLOUR, width=SCALE)
                self.draw.text((px, bottom + tick + 2), tick_label(value), font=self.font, fill=TEXT_COLOUR, anchor="ma")
        self.draw.text(((left + right) / 2, self.height * SCALE - 4 * SCALE), xlabel, font=self.font,
                       fill=TEXT_COLOUR, anchor="md")
        self.draw.text(((left + right) / 2, top / 2), title, font=self.title_font, fill=TEXT_COLOUR, anchor="mm")
        self._vertical_text(ylabel, 6 * SCALE, (top + bottom) / 2)

    def _category_labels(self) -> None:
        names = [str(name) for name in self.categories]
        slot = (self.box[2] - self.box[0]) / max(len(names), 1)
        fits = all(self.draw.textlength(name, font=self.font) < slot for name in names)
        for i, name in enumerate(names):
            px = float(self.x(i))
            if fits:
                self.draw.text((px, self.box[3] + 6), name, font=self.font, fill=TEXT_COLOUR, anchor="ma")
            else:  # too many or too long for one line: written upwards
                self._vertical_text(name[:12], px, self.box[3] + 6, top_aligned=True)

    def _vertical_text(self, text: str, x: float, y: float, *, top_aligned: bool = False) -> None:
        if not text:
            return
        width = int(self.draw.textlength(text, font=self.font)) + 2
        height = FONT_SIZE * SCALE + 6
        label = Image.new("L", (width, height), 0)
        ImageDraw.Draw(label).text((0, 0), text, font=self.font, fill=255)
        label = label.rotate(90, expand=True)
        left = int(x - label.width / 2)
        top = int(y if top_aligned else y - label.height / 2)
        self.image.paste(Image.new("RGB", label.size, TEXT_COLOUR), (left, top), label)


def _padded(limits: tuple[float, float], log: bool) -> tuple[float, float]:
    """Limits with a little room around the data (a single value gets a unit-wide range)."""
    low, high = (float(v) for v in limits)
    if log:
        low, high = math.log10(low), math.log10(high)
    if not (math.isfinite(low) and math.isfinite(high)):
        low, high = 0.0, 1.0
    if high <= low:
        low, high = low - 0.5, high + 0.5
    pad = 0.03 * (high - low)
    low, high = low - pad, high + pad
    return (10.0 ** low, 10.0 ** high) if log else (low, high)


def _rgba(colour: str, alpha: float = 1.0) -> tuple[int, int, int, int]:
    """An ``#rrggbb`` colour with ``alpha`` in [0, 1]."""
    code = colour.lstrip("#")
    return int(code[0:2], 16), int(code[2:4], 16), int(code[4:6], 16), int(round(alpha * 255))
