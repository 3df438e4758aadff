"""Matplotlib without pyplot: figures on an explicit Agg canvas (no global state, no display)
and PNG bytes without a timestamp, so the same figures give the same file."""

import io

__all__ = ["new_figure", "png_bytes"]


def new_figure(size=(7.5, 5)):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def png_bytes(figure):
    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    return buf.getvalue()
