"""One status check per call of the status function, and the wait before the next one.

The state machine owns the loop; this decides, from the state it is handed, what CAPSS
says now, how long to wait next (a share of the time already waited, from the first wait
up to a cap, never less than CAPSS's Retry-After) and whether that wait still fits the
poll budget.

A check writes nothing: CAPSS's last answer (counts, bounded messages, an excerpt of the
body) rides in the poller's state to the finish step, which records it with the outcome in
the one write it makes anyway. A long job's checks cost no DynamoDB write at all; its live
progress is one `capss ops status` away.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from capss.bounds import clip_list
from capss.errors import JobNotFound, ProtocolError, TransientError
from capss.outcome import Counts, Outcome
from capss.pipeline.alerts import unknown_status_alert
from capss.pipeline.credentials import with_credentials
from capss.pipeline.ports import AlertSender, CredentialSource, StatusClientFactory
from capss.pipeline.records import raw_excerpt
from capss.pipeline.settings import PollSettings, StatusSettings
from capss.pipeline.values import LicenseCredentials
from capss.telemetry import about, logger

MAX_POLLS = 2000
"""Status checks one execution makes at most, whatever the settings: a Standard execution
fails at 25,000 history events, a check costs 9 (Wait, Task, Choice) and ASL retries add 3
each, so 2,000 checks leave room for over 2,000 retries. Reaching it ends in `timed_out`."""

NOT_FOUND_LIMIT = 5
"""Consecutive 404s on a link CAPSS handed out before a person is asked to look."""

UNKNOWN_LIMIT = 3
"""Consecutive answers in a status word the bridge does not know before a person is told
(once, while the checks go on): such a word may be CAPSS's verdict in words the bridge
has never seen ("Error processing file", "Completed"), and the poll budget is a day."""


@dataclass(slots=True)
class StatusDeps:
    credentials: CredentialSource
    clients: StatusClientFactory
    alerts: AlertSender | None = None


def next_wait(waited: int, poll: PollSettings, retry_after: float | None = None) -> int:
    """Seconds to wait after a check `waited` seconds into the job: `wait_share` of that.

    A wait in proportion to the time already waited keeps the detection delay a bounded
    share of the job's length (half of it at most, a quarter on average with the default
    0.5) at a number of checks that grows with the logarithm of the job's length.
    """
    wait = max(poll.first_wait_seconds, poll.wait_share * waited)
    wait = min(wait, poll.max_wait_seconds)
    if retry_after is not None:
        wait = max(wait, retry_after)
    return max(math.ceil(wait), 1)


def check_status(
    state: dict[str, Any], deps: StatusDeps, settings: StatusSettings
) -> dict[str, Any]:
    """Check the job once; returns the poller's next `poll` object."""
    previous = state["poll"]
    polls = int(previous["polls"]) + 1
    waited = int(previous["waited_seconds"]) + int(previous["wait_seconds"])
    not_found = int(previous.get("not_found", 0))
    about(file=state["file_id"], license=state["license"])
    unreachable = int(previous.get("unreachable", 0))
    unknown = int(previous.get("unknown", 0))
    unknown_word: str | None = previous.get("unknown_word")
    # A check CAPSS did not answer keeps the answer before it for the finish step.
    answer: dict[str, Any] | None = previous.get("answer")
    retry_after: float | None = None
    outcome = Outcome.PROCESSING
    try:
        result = with_credentials(
            deps.credentials, state["license"], lambda c: _status(deps, c, state["status_url"])
        )
    except JobNotFound:
        if not_found + 1 >= NOT_FOUND_LIMIT:
            raise
        # CAPSS has been seen to answer 404 for a job it has only just handed out.
        not_found += 1
        logger.info("CAPSS does not show the job yet", extra={"not_found": not_found})
    except (TransientError, ProtocolError) as error:
        # CAPSS accepted the file: an outage while it works on it only costs time, and an
        # answer that does not carry the job's own outcome (a proxy's page, a body that does
        # not parse) is not CAPSS's verdict on it. The poll budget decides when to stop.
        unreachable += 1
        retry_after = error.retry_after if isinstance(error, TransientError) else None
        logger.warning("status check failed, will check again", extra={"error": error.own_words()})
    else:
        not_found = unreachable = 0
        outcome = result.outcome
        unknown = unknown + 1 if result.unknown_word is not None else 0
        if result.unknown_word is not None:
            unknown_word = result.unknown_word
        retry_after = result.retry_after
        answer = {
            "counts": result.counts.to_json() if isinstance(result.counts, Counts) else {},
            "messages": clip_list(result.messages),
            "capss_status": raw_excerpt(result.raw),
        }
    wait = next_wait(waited, settings.poll, retry_after)
    logger.info("status checked", extra={"outcome": outcome.value, "polls": polls})
    told = bool(previous.get("unknown_told"))
    if unknown >= UNKNOWN_LIMIT and not told and unknown_word is not None:
        told = _tell_unknown(state, unknown_word, unknown, deps, settings)
    return {
        "outcome": outcome.value,
        "wait_seconds": wait,
        "polls": polls,
        "waited_seconds": waited,
        "within_budget": waited + wait <= settings.poll.budget_seconds and polls < MAX_POLLS,
        "not_found": not_found,
        "unreachable": unreachable,
        **({"answer": answer} if answer is not None else {}),
        **(
            {"unknown": unknown, "unknown_word": unknown_word, "unknown_told": told}
            if unknown_word is not None
            else {}
        ),
    }


def _tell_unknown(
    state: dict[str, Any], word: str, checks: int, deps: StatusDeps, settings: StatusSettings
) -> bool:
    """The alert about a status word the bridge does not know; True once it went out.

    A send that fails is tried again at the next check: the checks matter more than it."""
    if deps.alerts is None:
        return False
    try:
        deps.alerts.send(unknown_status_alert(state, word, checks, settings.deployment))
    except Exception:
        logger.exception("could not alert about an unknown status word")
        return False
    logger.warning("CAPSS answered a status word the bridge does not know", extra={"word": word})
    return True


def _status(deps: StatusDeps, credentials: LicenseCredentials, url: str) -> Any:
    with deps.clients(credentials) as client:
        return client.status(url)
