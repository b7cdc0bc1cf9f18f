"""The pilot pages' plotly helpers: colours, the common layout, a figure as the page hands it to plotly.js."""

from __future__ import annotations

from typing import Any

from .common import _num

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
          "#bcbd22"]
STATE_COLORS = {"in vehicles": "#1f77b4", "second life": "#2ca02c", "recycled": "#8c564b", "left the loop": "#d62728"}
_LAYOUT: dict[str, Any] = {"height": 400, "margin": {"l": 70, "r": 20, "t": 50, "b": 60},
                           "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff",
                           "xaxis": {"gridcolor": "#e5e9ee"}, "yaxis": {"gridcolor": "#e5e9ee"}}


def _plotly_version() -> str:
    import plotly

    return plotly.__version__


def _layout(**kw: Any) -> dict[str, Any]:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in _LAYOUT.items()}
    for k, v in kw.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k].update(v)
        else:
            out[k] = v
    return out


def _fig(fid: str, fig: Any) -> dict[str, Any]:
    return {"id": fid, "figure": fig.to_plotly_json()}


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    return f"rgba({int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha})"


def _count_axis(values: Any, **kw: Any) -> dict[str, Any]:
    """A y (or x) axis of counts: whole numbers only (no 0.5 packs on small counts)."""
    top = max((_num(v) for v in values), default=0)
    return {"tickformat": ",d", "rangemode": "tozero", **({"dtick": 1} if top <= 8 else {}), **kw}
