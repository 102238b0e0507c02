"""Reads `template.yaml` the way CloudFormation would, for the resources the local stack builds.

Only what the local stack needs is evaluated (names, environment, handler paths,
queue and bucket wiring, the state machine's substitutions); an intrinsic function
or pseudo parameter it does not know fails loudly instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ACCOUNT_ID = "123456789012"
"""moto's Step Functions calls Lambda in the default account: every resource lives there."""
REGION = "us-east-1"
PARTITION = "aws"

_SHORT_FORMS = (
    "Ref",
    "Condition",
    "GetAtt",
    "Sub",
    "If",
    "Equals",
    "Not",
    "And",
    "Or",
    "FindInMap",
    "Join",
    "Select",
    "Split",
    "Base64",
    "GetAZs",
    "ImportValue",
)
LOCAL_PARAMETERS = {"AlertEmail": "none"}
"""Parameters a deploy must be given: locally, alerts go to an inbox queue, not email."""


class TemplateError(Exception):
    """The template says something the local stack cannot honour."""


class _Loader(yaml.SafeLoader):  # type: ignore[misc]
    """YAML with CloudFormation's short-form tags turned into their long forms."""


def _short_form(name: str) -> Callable[[yaml.SafeLoader, yaml.Node], dict[str, Any]]:
    key = name if name in ("Ref", "Condition") else f"Fn::{name}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if name == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {key: value}

    return construct


for _name in _SHORT_FORMS:
    _Loader.add_constructor(f"!{_name}", _short_form(_name))


def load_yaml(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        document = yaml.load(stream, Loader=_Loader)
    if not isinstance(document, dict) or "Resources" not in document:
        raise TemplateError(f"{path} is not a CloudFormation template (no Resources)")
    return document


class _NoValue:
    """AWS::NoValue: the property is left out."""


NO_VALUE = _NoValue()


@dataclass
class Template:
    """A template with its parameters chosen; resolves values against the resources made so far."""

    path: Path
    document: dict[str, Any]
    parameters: dict[str, str]
    stack_name: str = "capss-local"
    refs: dict[str, str] = field(default_factory=dict)
    """Ref of each resource already created (logical id -> physical id)."""
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)
    """GetAtt of each resource already created."""
    _conditions: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        path: Path,
        overrides: Mapping[str, str] | None = None,
        stack_name: str = "capss-local",
    ) -> Template:
        document = load_yaml(path)
        declared = document.get("Parameters", {}) or {}
        unknown = set(overrides or {}) - set(declared)
        if unknown:
            raise TemplateError(f"{path.name} has no parameters {sorted(unknown)}")
        parameters: dict[str, str] = {}
        for name, spec in declared.items():
            value = (overrides or {}).get(name, spec.get("Default", LOCAL_PARAMETERS.get(name)))
            if value is None:
                raise TemplateError(f"parameter {name} has no default: give it a value")
            value = _parameter_text(value)
            allowed = spec.get("AllowedValues")
            if allowed is not None and value not in [_parameter_text(a) for a in allowed]:
                raise TemplateError(f"parameter {name}={value!r} is not one of {allowed}")
            if "MinValue" in spec and float(value) < float(spec["MinValue"]):
                raise TemplateError(f"parameter {name}={value} is below {spec['MinValue']}")
            if "MaxValue" in spec and float(value) > float(spec["MaxValue"]):
                raise TemplateError(f"parameter {name}={value} is above {spec['MaxValue']}")
            parameters[name] = value
        return cls(path=path, document=document, parameters=parameters, stack_name=stack_name)

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.document["Resources"]
        return resources

    def globals_for(self, kind: str) -> dict[str, Any]:
        section: dict[str, Any] = (self.document.get("Globals") or {}).get(kind) or {}
        return section

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions = self.document.get("Conditions") or {}
            if name not in conditions:
                raise TemplateError(f"unknown condition {name}")
            self._conditions[name] = bool(self.resolve(conditions[name]))
        return self._conditions[name]

    def included(self, logical_id: str) -> bool:
        """Whether a resource exists under the chosen parameters (its Condition)."""
        condition = self.resources[logical_id].get("Condition")
        return condition is None or self.condition(condition)

    def pseudo(self, name: str) -> str | _NoValue:
        values: dict[str, str | _NoValue] = {
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (
                f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{self.stack_name}/local"
            ),
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }
        if name not in values:
            raise TemplateError(f"unknown pseudo parameter {name}")
        return values[name]

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        if name in self.resources:
            raise TemplateError(f"Ref {name}: that resource is not created yet (or not locally)")
        raise TemplateError(f"Ref {name}: no such parameter or resource")

    def get_att(self, logical_id: str, attribute: str) -> str:
        try:
            return self.attributes[logical_id][attribute]
        except KeyError:
            raise TemplateError(
                f"GetAtt {logical_id}.{attribute}: not known locally (not created or unsupported)"
            ) from None

    def resolve(self, value: Any) -> Any:
        """A value with every intrinsic function evaluated; AWS::NoValue entries dropped."""
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                return self._intrinsic(key, argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _intrinsic(self, key: str, argument: Any) -> Any:
        if key == "Ref":
            return self.ref(argument)
        if key == "Condition":
            return self.condition(argument)
        function = key[4:]
        if function == "GetAtt":
            parts = argument if isinstance(argument, list) else str(argument).split(".", 1)
            return self.get_att(str(self.resolve(parts[0])), str(self.resolve(parts[1])))
        if function == "Sub":
            return self._sub(argument)
        if function == "If":
            name, when_true, when_false = argument
            return self.resolve(when_true if self.condition(name) else when_false)
        if function == "Equals":
            left, right = (self.resolve(item) for item in argument)
            return _parameter_text(left) == _parameter_text(right)
        if function == "Not":
            return not self.resolve(argument[0])
        if function == "And":
            return all(self.resolve(item) for item in argument)
        if function == "Or":
            return any(self.resolve(item) for item in argument)
        if function == "FindInMap":
            mapping, top, second = (str(self.resolve(item)) for item in argument[:3])
            try:
                return self.resolve(self.document["Mappings"][mapping][top][second])
            except KeyError:
                raise TemplateError(f"FindInMap {mapping}/{top}/{second}: no such entry") from None
        if function == "Join":
            separator, items = argument
            return str(separator).join(_parameter_text(item) for item in self.resolve(items))
        if function == "Select":
            index, items = argument
            return self.resolve(items)[int(self.resolve(index))]
        if function == "Split":
            separator, text = argument
            return str(self.resolve(text)).split(str(separator))
        if function == "Base64":
            import base64  # noqa: PLC0415

            return base64.b64encode(str(self.resolve(argument)).encode()).decode()
        if function == "GetAZs":
            return [f"{REGION}a", f"{REGION}b", f"{REGION}c"]
        raise TemplateError(f"intrinsic function {key} is not supported by the local stack")

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = argument[0], {k: self.resolve(v) for k, v in argument[1].items()}
        else:
            text, variables = argument, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _parameter_text(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            return _parameter_text(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, str(text))


def _parameter_text(value: Any) -> str:
    """Parameter values are strings in CloudFormation (YAML may have read 5 or true)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_parameter_text(item) for item in value)
    return str(value)


def table_definition(path: Path, logical_id: str, name: str) -> dict[str, Any]:
    """`create_table`'s arguments for one of the template's tables, keys and indexes as
    deployed, for a test or a benchmark that needs the table without the whole stack."""
    props = load_yaml(path)["Resources"][logical_id]["Properties"]
    definition = {
        "TableName": name,
        "BillingMode": props["BillingMode"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
    }
    if props.get("GlobalSecondaryIndexes"):
        definition["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    return definition
