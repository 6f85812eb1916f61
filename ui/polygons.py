"""Polylines from numpy arrays without a Python object per point.

Building ``QPolygonF([QPointF(x, y), ...])`` costs about 2 µs a point in Python, which is
tens of milliseconds of GUI thread (and GIL) for the timeline's curves; this writes the
coordinates straight into the polygon's buffer (QPointF is two qreal, i.e. doubles).
"""

from __future__ import annotations

import ctypes

import numpy as np
import shiboken6
from PySide6.QtGui import QPolygonF


def polygon(xs: np.ndarray, ys: np.ndarray) -> QPolygonF:
    """A QPolygonF with the points ``(xs[i], ys[i])``."""
    n = min(len(xs), len(ys))
    result = QPolygonF()
    if n == 0:
        return result
    result.resize(n)
    address = shiboken6.getCppPointer(result.data())[0]
    buffer = np.ctypeslib.as_array(ctypes.cast(address, ctypes.POINTER(ctypes.c_double)), shape=(n, 2))
    buffer[:, 0] = xs[:n]
    buffer[:, 1] = ys[:n]
    return result
