"""Generated SVG product pictures, so the demo needs no image files."""

from __future__ import annotations

import re
import textwrap
import zlib
from xml.sax.saxutils import escape

DEFAULT_COLOUR = "#4a6fa5"
SIZE = 600
_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
# (circle cx, cy, r) triples as fractions of SIZE; each image number gets another arrangement.
_LAYOUTS = (
    ((0.85, 0.15, 0.30), (0.10, 0.95, 0.22)),
    ((0.15, 0.20, 0.25), (0.90, 0.85, 0.35)),
    ((0.50, 1.05, 0.45), (0.95, 0.05, 0.18)),
    ((0.05, 0.50, 0.30), (0.80, 0.70, 0.15)),
    ((0.70, 0.35, 0.40), (0.20, 0.10, 0.12)),
)


def _rgb(colour: str) -> tuple[int, int, int]:
    match = _HEX.match(colour.strip())
    digits = (match.group(1) if match else DEFAULT_COLOUR[1:]).lower()
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def _mix(rgb: tuple[int, int, int], target: int, amount: float) -> str:
    r, g, b = (round(c + (target - c) * amount) for c in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


def initials(name: str) -> str:
    """Up to two upper-case initials of the name's words (``"?"`` for a name without letters)."""
    words = [w for w in re.split(r"[^\w]+", name) if w and w[0].isalnum()]
    return "".join(w[0] for w in words[:2]).upper() or "?"


def placeholder_svg(name: str, colour: str, number: int = 1, total: int = 1) -> str:
    """An SVG picture of a product: its category colour, initials and wrapped name.

    ``number`` varies the gradient and the decoration, so a product's gallery images differ.
    """
    rgb = _rgb(colour)
    # Perceived luminance decides whether text is dark or light, for contrast on any colour.
    luminance = (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) / 255
    ink = "#1b1f24" if luminance > 0.62 else "#ffffff"
    variant = (number - 1) % len(_LAYOUTS)
    # The name's checksum shifts the angle a little so neighbouring products look different too.
    angle = (number * 47 + zlib.crc32(name.encode()) % 40) % 360
    light = _mix(rgb, 255, 0.18 + 0.06 * variant)
    dark = _mix(rgb, 0, 0.12 + 0.05 * variant)
    circles = "".join(
        f'<circle cx="{cx * SIZE:.0f}" cy="{cy * SIZE:.0f}" r="{r * SIZE:.0f}" '
        f'fill="{ink}" fill-opacity="{0.08 + 0.04 * i:.2f}"/>'
        for i, (cx, cy, r) in enumerate(_LAYOUTS[variant])
    )
    wrapped = textwrap.wrap(name, width=22)
    lines = wrapped[:3] or [""]
    if len(wrapped) > 3:
        lines[-1] = lines[-1][:20].rstrip() + "…"
    first_y = 430 - 18 * (len(lines) - 1)
    name_text = "".join(
        f'<tspan x="300" y="{first_y + 38 * i}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    label = escape(f"{name} — picture {number} of {total}", {'"': "&quot;"})
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}" '
        f'width="{SIZE}" height="{SIZE}" role="img" aria-label="{label}">'
        f'<defs><linearGradient id="g" gradientTransform="rotate({angle} 0.5 0.5)">'
        f'<stop offset="0" stop-color="{light}"/><stop offset="1" stop-color="{dark}"/>'
        f"</linearGradient></defs>"
        f'<rect width="{SIZE}" height="{SIZE}" fill="url(#g)"/>{circles}'
        f'<g fill="{ink}" font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" '
        f'text-anchor="middle">'
        f'<text x="300" y="300" font-size="150" font-weight="700" '
        f'letter-spacing="4">{escape(initials(name))}</text>'
        f'<text font-size="32" font-weight="500">{name_text}</text>'
        f'<text x="560" y="570" font-size="22" text-anchor="end" '
        f'fill-opacity="0.7">{number}/{total}</text></g></svg>'
    )
