"""External binaries: fail in CI when missing, skip with the reason elsewhere."""

from __future__ import annotations

import os
import shutil

import pytest

__all__ = ["in_ci", "need_binary"]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need_binary(name: str, install_hint: str) -> str:
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} not found ({install_hint})"
    if in_ci():
        pytest.fail(f"{message}: CI must install it")
    pytest.skip(message)
