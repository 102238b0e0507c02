"""Every sentence that tells ops what to do, in one place.

Each one must match what the bridge really does next: a change of behaviour in submit,
poll or finish starts here. The errors' own hints (`capss.errors`) speak to someone at the
command line; these speak to the person who runs the deployed stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from capss.errors import BadCredentials, CapssError, RequestRejected, TlsFailure
from capss.outcome import Outcome

if TYPE_CHECKING:
    from capss.pipeline.records import FileRecord

AGAIN = "then drop the file again."

FIX_ERRORS = (
    "Error items were not saved: correct them and send them again (a new transactions file,"
    " or an item update under incoming/item-updates/<license>/)."
)
CHECK_DUPLICATES = (
    "Duplicates were already in CAPSS and were not saved again: check that the POS did not"
    " export the same transactions twice."
)

NEXT_STEPS = {
    Outcome.REJECTED: (
        "Fix the problems listed above in the POS export and drop the corrected file again under"
        " the same prefix. Reports are due by the next business day."
    ),
    Outcome.COMPLETE: "Nothing to do.",
    Outcome.COMPLETE_WITH_ISSUES: f"{FIX_ERRORS} {CHECK_DUPLICATES}",
    Outcome.FAILED: "Fix the cause above, then drop the file again. Nothing was saved in CAPSS.",
    Outcome.TIMED_OUT: (
        "Do not drop the file again (it would be sent twice). Check the job with"
        " `capss status <status link>` or in the CAPSS web site; if it stays unfinished,"
        " contact the DOJ CAPSS help desk with the submission id."
    ),
    Outcome.PROCESSING: "Nothing to do yet.",
}

POLLER_FAILED = (
    "Look at the error above and the file's record. Check the job with"
    " `capss status <status link>` before dropping the file again: CAPSS may have saved it."
)
XSD_UNUSABLE = (
    "The official XSD the stack is configured with (OfficialXsdS3Uri) cannot be used:"
    " fix or clear that parameter, then drop the file again. The file itself may be fine."
)
XSD_NOT_S3 = "Set the OfficialXsdS3Uri parameter to s3://bucket/key of the DOJ's XSD."
XSD_UNREADABLE = f"Fix or clear the OfficialXsdS3Uri parameter, {AGAIN}"
IDENTICAL_FILE = (
    "Nothing to do if the POS exported the same file twice. To send these bytes again on"
    " purpose, upload the file again with the object metadata capss-resend=true."
)
UNREADABLE_UPLOAD_ANSWER = (
    "CAPSS answered the upload with something the bridge cannot read, so it may"
    " have taken the file: look for it in CAPSS before dropping it again."
)
FILE_UNREADABLE = (
    "Drop the file again; if it keeps failing, check that the bucket's encryption"
    " key lets the submit function decrypt (kms:Decrypt)."
)
SETTINGS = "Check the stack's parameters and redeploy (template.yaml sets these variables)."
SECRET_API = 'Set "api" to "current" or "legacy", or leave it out.'  # noqa: S105 - advice
_REDRIVE = (
    "The S3 event is in the intake dead-letter queue: once CAPSS answers again (try"
    " `capss token`), redrive it (SQS console, Start DLQ redrive)"
)


def secret_shape(secret: str) -> str:
    return f'Store {secret} as {{"client_id": "...", "client_secret": "..."}}.'


def create_secret(secret: str) -> str:
    return (
        f'Create the secret {secret} with {{"client_id": "...", "client_secret": "..."}}'
        f" from the CAPSS API Client page, {AGAIN}"
    )


def give_up(*, maybe_in_capss: bool) -> str:
    """The last receive of a file that kept failing for a reason that may pass."""
    if maybe_in_capss:
        return (
            f"An upload attempt may have reached CAPSS: do not drop the file again. {_REDRIVE};"
            " the bridge then sends it with onDup=submitWithoutDup so CAPSS skips what it has."
        )
    return f"Nothing reached CAPSS. {_REDRIVE} and the file is sent, or drop it again."


def for_error(error: CapssError, record: FileRecord, secret_prefix: str) -> str:
    """What ops changes in the deployed stack when a step failed with this error."""
    secret = f"{secret_prefix}{record.license}"
    if isinstance(error, BadCredentials):
        return (
            f"Put the client id and secret from CAPSS's API Client page (for this CAPSS"
            f" environment) into the secret {secret}, {AGAIN}"
        )
    if isinstance(error, TlsFailure):
        return (
            "The TLS connection to CAPSS failed. If the handshake failed, set the stack's"
            " TlsCiphers parameter (e.g. DEFAULT@SECLEVEL=1); if the certificate was refused,"
            f" check the CapssEnvironment parameter and CAPSS's certificate; {AGAIN}"
        )
    if isinstance(error, RequestRejected):
        return f"CAPSS refused the file as sent: correct what its message says, {AGAIN}"
    return error.hint


def next_step(record: FileRecord) -> str:
    """The advice for a final outcome; for a finish with issues, only what CAPSS counted."""
    if record.hint:
        return record.hint
    if record.outcome is not Outcome.COMPLETE_WITH_ISSUES:
        return NEXT_STEPS[record.outcome]
    errors, duplicates = record.counts.errors, record.counts.duplicates
    if errors == 0:
        return CHECK_DUPLICATES
    if errors and duplicates == 0:
        return FIX_ERRORS
    return NEXT_STEPS[record.outcome]


# The missed-report monitor and the stuck-file sweep (capss.pipeline.monitor).
EARLY_WARNING = (
    "Ask each store named to drop its file before the end of today (the deadline);"
    " a store that was closed that day: `capss stores add LICENSE --closures DATE` (then it"
    " is not expected)."
)
MISSED = {
    "missing": (
        "No file covers the day: ask the store to export and drop it now (a late report is"
        " still owed, as soon as it can be made); if the store was closed that day,"
        " `capss stores add LICENSE --closures DATE`."
    ),
    "failed": (
        "A file covering the day did not reach CAPSS: act on that file's own alert"
        " (`capss submissions show FILE_ID`), then drop the corrected file."
    ),
    "processing": (
        "A file covering the day is still with CAPSS: `capss submissions show FILE_ID`;"
        " it counts once CAPSS finishes it."
    ),
}
STUCK_CLAIMED = (
    "Nothing reached CAPSS. `capss redrive --dry-run` shows whether its S3 event waits in"
    " the dead-letter queue (then `capss redrive`); otherwise `capss resubmit FILE_ID`."
)
STUCK_UPLOADING = (
    "An upload was attempted and not answered: CAPSS may have the file. Look for it in"
    " CAPSS before sending again; then `capss resubmit FILE_ID --force` (sent with"
    " onDup=submitWithoutDup, so CAPSS skips what it has)."
)
STUCK_SUBMITTED = (
    "CAPSS has the file but no poller follows it: `capss submissions status FILE_ID` shows"
    " how CAPSS stands, and the execution in the Step Functions console why the poller"
    " stopped. Do not send it again."
)
STUCK_ALERT_OWED = (
    "The outcome is recorded but its alert never went out: read it with"
    " `capss submissions show FILE_ID` and act on it; the finish function's logs say why the"
    " send failed."
)
