"""The CLI's one lazy loader: every name it offers is the module it stands for, loaded on use."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
from capss.cli import lazy


@pytest.mark.parametrize(("name", "path"), sorted(lazy.MODULES.items()))
def test_each_name_is_its_module(name: str, path: str) -> None:
    assert getattr(lazy, name) is importlib.import_module(path)


def test_names_match_the_public_list() -> None:
    assert sorted(lazy.__all__) == sorted(lazy.MODULES)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = lazy.nothing  # type: ignore[attr-defined]


def test_importing_the_loader_loads_none_of_them() -> None:
    code = (
        "import sys; import capss.cli.lazy as lazy; "
        "print(','.join(p for p in lazy.MODULES.values()"
        " if p.startswith('capss.') and p in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": "layers/capss"},
    ).stdout.strip()
    assert loaded == ""
