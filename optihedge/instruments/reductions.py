"""Selling part of a holding: the cleanest hedge (no basis risk, no carry)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pandas as pd

from optihedge.errors import MissingLabelsError
from optihedge.instruments._base import Instrument, MarketState

__all__ = ["PositionReduction"]


@dataclass(frozen=True, kw_only=True)
class PositionReduction(Instrument):
    """Selling part of a long holding.

    Its position is in [-holding weight, 0]: :meth:`bounds` reads the weight from the
    book, so the problem needs no special case. It counts zero in gross exposure.
    """

    kind: ClassVar[str] = "reduction"

    holding: str
    upper: float = 0.0

    def exposures(self, market: MarketState | None = None) -> dict[str, float]:
        """Exposure 1 on the holding."""
        return {self.holding: 1.0}

    def attributes(self, market: MarketState | None = None) -> dict[str, float]:
        """Selling adds no gross exposure."""
        return super().attributes(market) | {"gross_weight": 0.0}

    def bounds(self, book: pd.Series) -> tuple[float, float]:
        """At most the whole holding can be sold: ``x >= -weight``.

        Raises
        ------
        MissingLabelsError
            If the book does not hold ``holding`` long.
        """
        held = float(book.get(self.holding, 0.0))
        if self.holding not in book.index or not held > 0:
            raise MissingLabelsError(
                f"{self.name} sells {self.holding!r}, which the portfolio does not hold long "
                f"(it holds {list(book.index[book > 0])[:5]}...)."
            )
        return max(self.lower, -held), self.upper
