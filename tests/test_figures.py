"""Figures on an Agg canvas without pyplot, saved as reproducible PNG bytes."""

import os
import struct
import subprocess
import sys
import zlib

import pytest

from zeroskip.figures import new_figure, png_bytes

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
METRES_PER_INCH = 0.0254


def _chunks(png):
    """``[(type, data)]`` of a PNG file, each chunk's CRC checked."""
    assert png[:8] == PNG_SIGNATURE
    chunks, pos = [], 8
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        data = png[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + data), kind
        chunks.append((kind.decode("ascii"), data))
        pos += 12 + length
    return chunks


def _pixels(png):
    kind, data = _chunks(png)[0]
    assert kind == "IHDR"
    return struct.unpack(">II", data[:8])


def _dpi(png):
    """Dots per inch from the pHYs chunk (pixels per metre, unit byte 1)."""
    (data,) = [d for k, d in _chunks(png) if k == "pHYs"]
    x_ppm, y_ppm, unit = struct.unpack(">IIB", data)
    assert unit == 1 and x_ppm == y_ppm
    return round(x_ppm * METRES_PER_INCH)


def _draw(figure):
    ax = figure.add_subplot()
    ax.plot([0, 1, 2], [2, 0, 1], label="line")
    ax.set_title("title")
    ax.legend()
    return figure


def test_png_bytes_are_a_png_file():
    png = png_bytes(_draw(new_figure()))
    assert png.startswith(PNG_SIGNATURE)
    kinds = [k for k, _ in _chunks(png)]
    assert kinds[0] == "IHDR" and kinds[-1] == "IEND" and "IDAT" in kinds


@pytest.mark.parametrize("size", [None, (2, 3), (4.5, 1.5)])
def test_png_size_is_figure_size_times_dpi(size):
    figure = _draw(new_figure() if size is None else new_figure(size))
    inches = figure.get_size_inches()
    if size is not None:
        assert tuple(inches) == size
    png = png_bytes(figure)
    dpi = _dpi(png)
    assert _pixels(png) == (round(inches[0] * dpi), round(inches[1] * dpi))


def test_same_figure_gives_same_bytes_and_no_timestamp():
    first, second = png_bytes(_draw(new_figure())), png_bytes(_draw(new_figure()))
    assert first == second
    kinds = [k for k, _ in _chunks(first)]
    assert "tIME" not in kinds
    texts = [d for k, d in _chunks(first) if k in ("tEXt", "iTXt", "zTXt")]
    assert not any(t.startswith(b"Software\x00") for t in texts), texts


def test_figures_are_not_registered_with_pyplot():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    for _ in range(3):
        png_bytes(_draw(new_figure()))
    assert plt.get_fignums() == before


def test_works_without_a_display_and_without_pyplot(tmp_path):
    # An interactive backend is asked for and there is no display: the figure must still get
    # an Agg canvas, and pyplot (global figure state) must never be imported.
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(MPLBACKEND="TkAgg", MPLCONFIGDIR=str(tmp_path))
    script = ("import sys\n"
              "from matplotlib.backends.backend_agg import FigureCanvasAgg\n"
              "from zeroskip.figures import new_figure, png_bytes\n"
              "figure = new_figure()\n"
              "figure.add_subplot().plot([0, 1])\n"
              "assert isinstance(figure.canvas, FigureCanvasAgg), type(figure.canvas)\n"
              "sys.stdout.buffer.write(png_bytes(figure))\n"
              "assert 'matplotlib.pyplot' not in sys.modules\n")
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr.decode()
    assert run.stdout.startswith(PNG_SIGNATURE)
