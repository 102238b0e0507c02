from __future__ import annotations

from typing import Any

import pytest

from tests.infrastructure.cfn import load_asl, load_template


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="session")
def resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = template["Resources"]
    return found


@pytest.fixture(scope="session")
def asl() -> dict[str, Any]:
    return load_asl()
