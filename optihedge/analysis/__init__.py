"""Analysis of hedges: risk attribution and scenario evaluation.

``attribution`` (Euler contributions) and ``evaluation`` (a hedge on other scenarios).
``optihedge.attribution`` is ``optihedge.analysis.attribution``.
"""
