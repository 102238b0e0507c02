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
RESENT_DUPLICATES = (
    "CAPSS's answer to the first upload was lost, so the bridge sent the file again asking CAPSS"
    " to skip what it already had: the duplicates are those items, saved once. Nothing to do."
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

_REDRIVE = (
    "The S3 event is in the intake dead-letter queue: once CAPSS answers again (try"
    " `capss token`), redrive it (SQS console, Start DLQ redrive)"
)
POLLER_FAILED = (
    "Look at the error above and the file's record. Check the job with"
    " `capss status <status link>`: CAPSS may have saved it. To send the same bytes again, upload"
    " them with the object metadata capss-resend=true (a plain re-drop is refused as a repeat)."
)
POLLER_NOT_STARTED = (
    "CAPSS accepted the file (submission and status link above), but the bridge could not"
    f" start following its job. Check it with `capss status <status link>`. {_REDRIVE}: the"
    " bridge then follows the job and records and alerts its real outcome. Do not drop the file"
    " again."
)
POLLER_STOPPED = (
    "The poller following this file's CAPSS job stopped before it recorded an outcome (see the"
    " error above and the execution in Step Functions). Check the job with"
    " `capss status <status link>`: CAPSS may have saved the file. To send the same bytes"
    " again, upload them with the object metadata capss-resend=true (a plain re-drop is"
    " refused as a repeat)."
)
FAILED_IN_CAPSS = (
    "CAPSS ended this file's job as failed (its message above). Fix the cause and drop the"
    " corrected file; to send these same bytes again, upload them with the object metadata"
    " capss-resend=true (a plain re-drop is refused as a repeat)."
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
            " the bridge then sends it with a skip-duplicates onDup so CAPSS skips what it has."
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
        for name, parameter, metadata in (
            ("ondup", "OnDup", "capss-on-dup"),
            ("onerror", "OnError", "capss-on-error"),
        ):
            if name in error.capss_message.lower():
                return option_refused(parameter, metadata, maybe_in_capss=record.maybe_in_capss)
        return f"CAPSS refused the file as sent: correct what its message says, {AGAIN}"
    return error.hint


def option_refused(parameter: str, metadata: str, *, maybe_in_capss: bool) -> str:
    """CAPSS refused the onDup or onError value the bridge sent (a 400 naming it)."""
    change = (
        f"CAPSS refused the {parameter[:2].lower()}{parameter[2:]} value sent (see its message):"
        f" set the stack's {parameter} parameter to a value CAPSS accepts (for OnDup the other"
        " spelling, submitWithoutDup or submitWithoutDups) and redeploy, or give this file the"
        f" object metadata {metadata}."
    )
    if maybe_in_capss:
        return (
            f"{change} An earlier attempt may have reached CAPSS, so a plain re-drop is refused"
            f" as a repeat: upload the file again with {metadata} and capss-resend=true."
        )
    return f"{change} Then drop the file again."


def next_step(record: FileRecord) -> str:
    """The advice for a final outcome; for a finish with issues, only what CAPSS counted."""
    if record.hint:
        return record.hint
    if record.outcome is Outcome.FAILED and record.maybe_in_capss:
        return FAILED_IN_CAPSS
    if record.outcome is not Outcome.COMPLETE_WITH_ISSUES:
        return NEXT_STEPS[record.outcome]
    errors, duplicates = record.counts.errors, record.counts.duplicates
    if not errors and record.resent:
        return RESENT_DUPLICATES
    if errors == 0:
        return CHECK_DUPLICATES
    if errors and duplicates == 0:
        return FIX_ERRORS
    return NEXT_STEPS[record.outcome]
