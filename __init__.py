"""The root of the optihedge repository: a checkout, not the package.

A script next to a checkout folder named ``optihedge`` imports this folder (Python takes
a folder of that name for a package) instead of the installed package, and every name
is then missing. This file turns that silent failure into a clear error. The package
itself is the ``optihedge/`` folder inside.
"""

from pathlib import Path

if __name__ == "optihedge":
    raise ImportError(
        f"'import optihedge' found the optihedge repository checkout at "
        f"{Path(__file__).resolve().parent}, not the optihedge package. A script placed "
        "next to the checkout imports the folder of that name: run the script from another "
        "folder, rename the checkout folder, or put the script inside the checkout."
    )
