"""A canary customer: personal data planted in a file's customer fields, then looked for
everywhere the bridge writes (the privacy suite, `make reliability`'s leak scan).

The rule it checks is in docs/design.md, "Personal data and retention": logs, outcome events, SNS
message attributes and execution inputs never carry a customer field's value or CAPSS's text;
records, alerts, execution histories and `capss submissions` may quote CAPSS (so a value only
when CAPSS quoted a file the chain chose to send as is); nothing else ever carries one.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from typing import Any

from local.stack import Alert, LocalStack
from local.stack._stack import plain_item

CANARY = {
    "custLastName": "Quarrington",
    "custFirstName": "Wilhelmina",
    "dateOfBirth": "1961-07-04",
    "number": "D7719034",
    "streetAddress": "4471 Larkspur Ln",
}
"""Field -> value: a name, a date of birth, an ID number and an address no sample holds."""

_FIRST_CUSTOMER = re.compile(rb"<customer>.*?</customer>", re.S)


def with_canary(data: bytes) -> bytes:
    """`data` (a sample whose customer fields read "on file") with the canary in its first
    transaction's customer fields."""
    found = _FIRST_CUSTOMER.search(data)
    if found is None:
        raise ValueError("the file has no <customer> block")
    block = found.group(0)
    for name, value in CANARY.items():
        block, count = re.subn(
            rb'<%s(?: xsi:nil="true"/>|>on file</%s>)' % (name.encode(), name.encode()),
            b"<%s>%s</%s>" % (name.encode(), value.encode(), name.encode()),
            block,
            count=1,
        )
        if count != 1:
            raise ValueError(f"the customer block has no empty or on-file <{name}>")
    return data[: found.start()] + block + data[found.end() :]


def canaries_in(text: str) -> list[str]:
    """The canary's values found in `text`."""
    return [value for value in CANARY.values() if value in text]


@dataclass
class Written:
    """What the bridge wrote in the local stack, by place."""

    logs: str
    records: list[dict[str, Any]]
    events: list[dict[str, Any]]
    alerts: list[Alert]
    execution_inputs: list[str]
    histories: dict[str, list[dict[str, Any]]]
    """Every poller execution's whole history, by execution name."""

    def texts(self) -> dict[str, str]:
        """Place -> all it holds, as text to scan."""
        return {
            "logs": self.logs,
            "records": json.dumps(self.records, default=str),
            "outcome events": json.dumps(self.events, default=str),
            "SNS message attributes": json.dumps([alert.attributes for alert in self.alerts]),
            "alert emails": "\n".join(f"{alert.subject}\n{alert.body}" for alert in self.alerts),
            "execution inputs": "\n".join(self.execution_inputs),
            "execution histories": json.dumps(self.histories, default=str),
        }


def written(local: LocalStack) -> Written:
    dynamodb = local.client("dynamodb")
    records = [
        plain_item(item)
        for page in dynamodb.get_paginator("scan").paginate(TableName=local.table)
        for item in page["Items"]
    ]
    sfn = local.client("stepfunctions")
    inputs: list[str] = []
    histories: dict[str, list[dict[str, Any]]] = {}
    for page in sfn.get_paginator("list_executions").paginate(
        stateMachineArn=local.state_machine_arn
    ):
        for execution in page["executions"]:
            arn = execution["executionArn"]
            inputs.append(str(sfn.describe_execution(executionArn=arn).get("input", "")))
            histories[execution["name"]] = [
                event
                for history in sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
                for event in history["events"]
            ]
    logs = local.log.getvalue() if isinstance(local.log, io.StringIO) else ""
    return Written(logs, records, local.events(), local.alerts(), inputs, histories)


NEVER = ("logs", "outcome events", "SNS message attributes", "execution inputs")
"""Places that carry identifiers, counts and the bridge's own words only."""
QUOTING_CAPSS = ("records", "alert emails", "execution histories", "ops command output")
"""Places that may quote CAPSS's messages (bounded), so a value CAPSS itself quoted."""
