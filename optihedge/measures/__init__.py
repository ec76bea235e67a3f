"""Risk measures, textbook hedge sizing and hedge-quality diagnostics.

``risk`` (VaR, expected shortfall, drawdown, horizon scaling), ``sizing`` (beta-adjusted
notional, futures contracts, minimum-variance ratio, target volatility, Kelly), and
``diagnostics`` (hedge quality by window and in stress windows). Loaded lazily; the
top-level modules ``optihedge.risk``, ``optihedge.sizing`` and ``optihedge.diagnostics``
re-export their public names.
"""
