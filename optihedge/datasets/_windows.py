"""Named stress windows of market history (inclusive dates)."""

from __future__ import annotations

__all__ = ["STRESS_WINDOWS"]

#: Named stress windows (inclusive dates): the global financial crisis from Lehman's
#: month to the March 2009 low, the COVID crash from the S&P 500 peak to its trough,
#: and the 2022 bear market to its October low.
STRESS_WINDOWS: dict[str, tuple[str, str]] = {
    "GFC 2008-09": ("2008-09-01", "2009-03-31"),
    "COVID 2020": ("2020-02-19", "2020-03-23"),
    "2022 bear": ("2022-01-03", "2022-10-12"),
}
