"""The sweep, every few minutes (a schedule of the finish function): what no other path told.

- A message in the intake dead-letter queue whose file has no outcome yet, by whatever
  route it got there (the submit function killed for memory, a time-out before any code
  ran, a crash on every receive): the file is recorded `failed` and alerted with the
  redrive advice; the message stays for `capss redrive`.
- An alert marked pending and never noted sent (a function stopped between the two): sent
  again, marked as a possible repeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from capss.pipeline import advice
from capss.pipeline.alerts import resend_pending
from capss.pipeline.files import refs_from_s3_notification
from capss.pipeline.ports import (
    AlertSender,
    DeadLetters,
    EventPublisher,
    FileHistory,
    ObjectStore,
    RecordStore,
)
from capss.pipeline.submit import dead_letter
from capss.telemetry import logger

PENDING_AFTER = timedelta(minutes=5)
"""Longer than any function sending an alert runs (the submit function: 300 s)."""
DEAD_LETTER_LIMIT = 1000
"""Messages read from the dead-letter queue a run; more wait for the next run."""
SWEEP = "sweep"
"""The schedule's input names it: `{"sweep": true, "time": ...}`."""


@dataclass(slots=True)
class SweepDeps:
    records: RecordStore
    objects: ObjectStore
    alerts: AlertSender
    history: FileHistory
    dead_letters: DeadLetters
    events: EventPublisher | None = None


class SweepIncomplete(Exception):
    """Some files could not be told this run (the next run tries them again)."""


def sweep(deps: SweepDeps, where: advice.Deployment, now: datetime) -> dict[str, Any]:
    """One run; raises SweepIncomplete after trying everything when any file failed, so the
    function's error alarm fires while the next run tries again."""
    failures = 0
    dead = 0
    for body in deps.dead_letters.bodies(DEAD_LETTER_LIMIT):
        try:
            refs = refs_from_s3_notification(body)
        except (ValueError, KeyError, TypeError, AttributeError):
            logger.warning("a dead letter that is no S3 notification", extra={"body": body[:200]})
            continue
        for ref in refs:
            try:
                dead += dead_letter(ref, deps, where=where)
            except Exception:
                failures += 1
                logger.exception("could not record a dead letter", extra={"file": ref.uri})
    repeated = 0
    for record in deps.history.pending_alerts(now - PENDING_AFTER):
        try:
            resend_pending(record, deps.records, deps.alerts, where=where)
            repeated += 1
        except Exception:
            failures += 1
            logger.exception("could not send a pending alert", extra={"file": record.uri})
    summary = {"dead_letters_told": dead, "alerts_repeated": repeated, "failures": failures}
    logger.info("swept", extra=summary)
    if failures:
        raise SweepIncomplete(f"{failures} file(s) could not be told: the next run tries again")
    return summary
