"""Analysis of hedges: risk attribution and scenario evaluation.

``attribution`` (Euler contributions) and ``evaluation`` (a hedge on other scenarios).
The top-level module ``optihedge.attribution`` re-exports the public names of
``optihedge.analysis.attribution``.
"""
