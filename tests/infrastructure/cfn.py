"""The deployable artefacts as data: template.yaml (short-form tags in long form) and the ASL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from local.stack._template import load_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
ASL = ROOT / "statemachine" / "poller.asl.json"


def load_template() -> dict[str, Any]:
    return load_yaml(TEMPLATE)


def load_asl() -> dict[str, Any]:
    definition: dict[str, Any] = json.loads(ASL.read_text(encoding="utf-8"))
    return definition


def of_type(resources: dict[str, dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {name: spec for name, spec in resources.items() if spec["Type"] == kind}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def branches(value: Any) -> Iterator[Any]:
    """The value itself, or both outcomes of a Fn::If (AWS::NoValue left out)."""
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        for branch in value["Fn::If"][1:]:
            yield from branches(branch)
    elif value != {"Ref": "AWS::NoValue"}:
        yield value


def statements(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for statement in as_list(document.get("Statement", [])):
        yield from branches(statement)


def policy_documents(resources: dict[str, dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every policy document the template writes, named by where it is."""
    for name, spec in resources.items():
        props = spec.get("Properties") or {}
        kind = spec["Type"]
        if kind == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                yield f"{name}.{policy['PolicyName']}", policy["PolicyDocument"]
        elif kind in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            for index, policy in enumerate(as_list(props.get("Policies", []))):
                if isinstance(policy, dict) and "Statement" in policy:
                    yield f"{name}.Policies[{index}]", policy
        elif kind == "AWS::KMS::Key":
            yield f"{name}.KeyPolicy", props["KeyPolicy"]
        elif "PolicyDocument" in props:
            yield name, props["PolicyDocument"]
