"""Risk and return attribution, the public module ``optihedge.attribution``.

It re-exports the public names of :mod:`optihedge.analysis.attribution`:
``euler_contributions`` (marginal risk, contribution and share by position) and
``return_attribution`` (realised P&L by factor and specific, hedge effectiveness in
stress windows, drag in rising markets).
``import optihedge.attribution`` and ``from optihedge import attribution`` give this module.
"""

from __future__ import annotations

from optihedge.analysis.attribution import (
    ReturnAttribution,
    euler_contributions,
    return_attribution,
)

__all__ = ["ReturnAttribution", "euler_contributions", "return_attribution"]
