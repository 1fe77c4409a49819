"""The wheel holds every module of the source folders (the package list in pyproject.toml is
kept by hand), each one imports from it, and the tests stay out of it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of the checkout's files: setuptools reuses a ``build/`` folder left
    in the source tree, which can hold modules the package list no longer names."""
    source = tmp_path_factory.mktemp("source")
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in tracked:
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(source)],
        check=True,
        timeout=600,
    )
    (built,) = out.glob("citypulse-*.whl")
    return built


def _source_modules() -> set[str]:
    """``citypulse/...`` paths the wheel must hold, from pyproject.toml's folder mapping."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    mapping: dict[str, str] = config["tool"]["setuptools"]["package-dir"]
    wanted = set()
    for package, folder in mapping.items():
        for path in (ROOT / folder).rglob("*.py"):
            relative = path.relative_to(ROOT / folder)
            if any(part in {"__pycache__"} for part in relative.parts):
                continue
            wanted.add("/".join([*package.split("."), *relative.parts]))
    return wanted


def test_the_wheel_holds_every_module_and_no_test(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(_source_modules() - names)
    assert not missing, f"not in the wheel (add the package to pyproject.toml): {missing}"
    assert not [n for n in names if n.startswith(("tests/", "citypulse/tests/"))]
    assert "citypulse/py.typed" in names
    assert any(n.startswith("citypulse/schemas/data/") and n.endswith(".toml") for n in names)


def test_every_module_imports_from_the_wheel(wheel: Path, tmp_path: Path) -> None:
    zipfile.ZipFile(wheel).extractall(tmp_path)
    script = (
        "import importlib, pkgutil, citypulse\n"
        "names = [m.name for m in pkgutil.walk_packages(citypulse.__path__, 'citypulse.')]\n"
        "for name in names: importlib.import_module(name)\n"
        "print(citypulse.__file__, len(names))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    where, count = result.stdout.split()
    assert where.startswith(str(tmp_path)), "imported from the checkout, not the wheel"
    assert int(count) > 50
