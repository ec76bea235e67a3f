"""Entry point for ``python -m optihedge``."""

from optihedge.cli import main

raise SystemExit(main())
