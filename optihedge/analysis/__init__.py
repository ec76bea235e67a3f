"""Analysis of hedges: risk attribution and scenario evaluation.

``attribution`` (Euler contributions), ``evaluation`` (a hedge on other scenarios) and
``stress`` (a hedge through stress windows and hypothetical shocks, leg by leg:
``stress_test``, ``Shock``, ``stressed_correlation``; reachable as ``optihedge.<name>``).
The top-level module ``optihedge.attribution`` re-exports the public names of
``optihedge.analysis.attribution``.
"""
