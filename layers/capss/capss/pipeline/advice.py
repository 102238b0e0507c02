"""Every sentence that tells ops what to do, in one place.

Each one must match what the bridge really does next: a change of behaviour in submit,
poll or finish starts here. The errors' own hints (`capss.errors`) speak to someone at the
command line; these speak to the person who runs the deployed stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from capss.errors import BadCredentials, CapssError, RequestRejected, TlsFailure
from capss.outcome import Counts, Outcome

if TYPE_CHECKING:
    from capss.pipeline.records import FileRecord


DEFAULT_STACK = "capss-bridge"
DEFAULT_SECRET_PREFIX = "capss/"  # noqa: S105 - a name prefix, not a secret


@dataclass(frozen=True, slots=True)
class Deployment:
    """The deployed names the advice spells out, so ops paste a command, not fill in a form."""

    stack_name: str = DEFAULT_STACK
    secret_prefix: str = DEFAULT_SECRET_PREFIX
    intake_dlq_arn: str | None = None

    def secret(self, license_number: str | None) -> str:
        return f"{self.secret_prefix}{license_number or '<license>'}"


AGAIN = "then drop the file again."
SECRET_JSON = '{"client_id": "...", "client_secret": "..."}'  # noqa: S105 - a template

RESENT_DUPLICATES = (
    "CAPSS's answer to the first upload was lost, so the bridge sent the file again asking CAPSS"
    " to skip what it already had: the duplicates are those items, saved once. Nothing to do."
)
CHECK_DUPLICATES = (
    "Duplicates were already in CAPSS and were not saved again: check that the POS did not"
    " export the same transactions twice."
)

REDRIVE = (
    "The S3 event is in the intake dead-letter queue: once CAPSS answers again (try"
    " `capss token`), redrive it (`capss redrive`, or SQS console > the queue > Start DLQ redrive)"
)
POLLER_NOT_STARTED = (
    "CAPSS accepted the file (submission and status link above), but the bridge could not"
    f" start following its job. Check it with `capss status <status link>`. {REDRIVE}: the"
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
XSD_NOT_S3 = "Set the OfficialXsdS3Uri parameter to s3://bucket/key of the DOJ's XSD."
XSD_UNREADABLE = f"Fix or clear the OfficialXsdS3Uri parameter, {AGAIN}"
UNREADABLE_UPLOAD_ANSWER = (
    "CAPSS answered the upload with something the bridge cannot read, so it may"
    " have taken the file: look for it in CAPSS before dropping it again."
)
FILE_UNREADABLE = (
    "Drop the file again; if it keeps failing, check that the bucket's encryption"
    " key lets the submit function decrypt (kms:Decrypt)."
)
CSV_UNMAPPABLE = (
    "The export does not fit the stack's CSV mapping (CsvMapping parameter): export it with"
    " the columns and encoding the mapping names, or deploy a mapping for this export, then"
    " drop the file again under incoming/csv/<license>/."
)
SETTINGS = "Check the stack's parameters and redeploy (template.yaml sets these variables)."
SECRET_API = 'Set "api" to "current" or "legacy", or leave it out.'  # noqa: S105 - advice


def _object(record: FileRecord) -> str:
    return f"s3://{record.bucket}/{record.key}"


def drop_again(record: FileRecord) -> str:
    """Replacing the object under its own key: a new version, a new file for the bridge."""
    return f"`aws s3 cp <corrected file> {_object(record)}`"


def set_parameter(where: Deployment, name: str, value: str) -> str:
    # Not `sam deploy --parameter-overrides`: it resets every parameter not named to its default.
    return (
        f"set the parameter {name} to {value} in the CloudFormation console (Stacks >"
        f" {where.stack_name} > Update > Use existing template; keep the other values)"
    )


def said(word: str) -> str:
    """CAPSS's status word as a person reads it in an alert: quoted, or its absence named."""
    return repr(word) if word.strip() else "without a status word"


def unknown_status(record: FileRecord, word: str, where: Deployment) -> str:
    """A job whose status word the bridge does not know: still polled, a person looks now."""
    return (
        f"CAPSS's word for the job is {said(word)}, which may be its verdict. Do not drop the"
        f" file again. {check_job(record, where)} If CAPSS failed the job, correct the file and"
        " send it again with the object metadata capss-resend=true; if it completed, nothing is"
        " owed. The bridge keeps checking until CAPSS says complete or failed, or the poll"
        " budget (PollBudgetSeconds) ends in timed_out, and alerts the outcome then."
    )


def check_job(record: FileRecord, where: Deployment) -> str:
    """How to look at the job with `capss status`, with the credentials it needs."""
    link = record.status_url
    if not link:
        return "Look the submission up on the CAPSS web site."
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(link))
    secret = where.secret(record.license)
    return (
        f"Check the job with `capss status {link}`, with CAPSS_BASE_URL={origin} and"
        f" CAPSS_CLIENT_ID and CAPSS_CLIENT_SECRET set from the secret {secret} (`aws"
        f" secretsmanager get-secret-value --secret-id {secret} --query SecretString --output"
        ' text`; add CAPSS_API=legacy if it says "api": "legacy"), or look it up on the CAPSS'
        " web site."
    )


def next_steps(record: FileRecord, where: Deployment) -> dict[Outcome, str]:
    """What to do after each final outcome, in terms of this file and this stack."""
    return {
        Outcome.REJECTED: (
            "Fix the problems listed above in the POS export and drop the corrected file again"
            f" under the same prefix: {drop_again(record)} (or upload it in the S3 console)."
            " Reports are due by the next business day."
        ),
        Outcome.COMPLETE: "Nothing to do.",
        Outcome.COMPLETE_WITH_ISSUES: with_issues(
            record.counts, errors=fix_errors(record), duplicates=CHECK_DUPLICATES
        ),
        Outcome.FAILED: (
            f"Fix the cause above, then drop the file again: {drop_again(record)}."
            " Nothing was saved in CAPSS."
        ),
        Outcome.TIMED_OUT: (
            "Do not drop the file again (it would be sent twice). "
            f"{check_job(record, where)} If it stays unfinished, contact the DOJ CAPSS help"
            f" desk with the submission id {record.submission_id}."
        ),
        Outcome.PROCESSING: "Nothing to do yet.",
    }


def with_issues(counts: Counts, *, errors: str, duplicates: str) -> str:
    """A finish with issues: the advice for what CAPSS counted; both when its counts cannot tell.

    All duplicates (errors counted 0) must not send anyone to correct items that were fine.
    """
    if counts.errors == 0 and counts.duplicates != 0:
        return duplicates
    if counts.duplicates == 0 and counts.errors != 0:
        return errors
    return f"{errors} {duplicates}"


def fix_errors(record: FileRecord) -> str:
    # An item update changes items CAPSS holds; these never got in, so they go as transactions.
    folder = f"s3://{record.bucket}/incoming/transactions/{record.license or '<license>'}/"
    return (
        "Error items were not saved: correct them in the POS and export them again as a"
        " transactions file (items CAPSS already saved are skipped as duplicates):"
        f" `aws s3 cp <corrected file> {folder}`."
    )


def poller_failed(record: FileRecord, where: Deployment) -> str:
    return (
        "Look at the error above and the file's record. CAPSS may have saved the file:"
        f" {check_job(record, where)} A plain re-drop of the same bytes is refused as a repeat;"
        f" to send them again on purpose: {resend(record)}"
    )


def resend(record: FileRecord) -> str:
    target = _object(record)
    return (
        f"`aws s3 cp {target} {target} --metadata capss-resend=true --metadata-directive"
        " REPLACE` (or in the S3 console: the object > Actions > Edit metadata > add"
        " user-defined key capss-resend, value true)."
    )


def identical_file(record: FileRecord) -> str:
    return (
        "Nothing to do if the POS exported the same file twice. To send these bytes again on"
        f" purpose: {resend(record)}"
    )


def uploader_not_allowed(record: FileRecord, where: Deployment) -> str:
    """A file from a principal the register does not let file for the key's license."""
    license_number = record.license or "<license>"
    who = record.uploaded_by.removeprefix("AWS:") if record.uploaded_by else "<principal id>"
    stack = f"--stack {where.stack_name}"
    return (
        "Nothing was sent to CAPSS. Find whose credential this principal is (IAM > Users or"
        " Roles, by its id). If it is not one that should file for"
        f" {license_number}, someone tried to file under another store's license: revoke it and"
        " do not send the file. If it is this store's own POS, register it for this license:"
        f" `capss stores add {license_number} --uploader {who} {stack}`; if it is the chain's"
        f" own export job, for every store: `capss stores chain-uploader {who} {stack}`. Then"
        f" send the file again: `capss resubmit {record.pk} {stack}`."
    )


def xsd_unusable(where: Deployment) -> str:
    return (
        "The official XSD the stack is configured with (OfficialXsdS3Uri) cannot be used:"
        f" fix it or {set_parameter(where, 'OfficialXsdS3Uri', 'an empty value')}, then drop"
        " the file again. The file itself may be fine."
    )


def secret_shape(secret: str) -> str:
    return (
        f"Store {secret} as {SECRET_JSON}: `aws secretsmanager put-secret-value --secret-id"
        f" {secret} --secret-string '{SECRET_JSON}'`."
    )


def create_secret(secret: str) -> str:
    return (
        f"Create the secret {secret} with the client id and secret from the CAPSS API Client"
        f" page: `aws secretsmanager create-secret --name {secret} --secret-string"
        f" '{SECRET_JSON}'`, {AGAIN}"
    )


def give_up(*, maybe_in_capss: bool, where: Deployment) -> str:
    """The last receive of a file that kept failing for a reason that may pass."""
    dlq = where.intake_dlq_arn or "<intake dead-letter queue ARN>"
    redrive = (
        "The S3 event is in the intake dead-letter queue: once CAPSS answers again (try"
        f" `capss token`), redrive it: `aws sqs start-message-move-task --source-arn {dlq}`"
        " (or SQS console > the queue > Start DLQ redrive)"
    )
    if maybe_in_capss:
        return (
            f"An upload attempt may have reached CAPSS: do not drop the file again. {redrive};"
            " the bridge then sends it with a skip-duplicates onDup so CAPSS skips what it has."
        )
    return f"Nothing reached CAPSS. {redrive} and the file is sent, or drop it again."


def dead_letter(*, maybe_in_capss: bool, where: Deployment) -> str:
    """A file whose S3 event reached the dead-letter queue with no try recording why."""
    dlq = where.intake_dlq_arn or "<intake dead-letter queue ARN>"
    steps = (
        "The submit function stopped on each try before it could record why (killed for"
        " memory, out of time, or a crash). Its log group"
        f" (/aws/lambda/{where.stack_name}-SubmitFunction) tells which: a REPORT line whose Max"
        ' Memory Used reaches the memory size, or a "Task timed out". Fix that first (a CSV'
        " export too large to convert: split it into smaller exports and drop those, then"
        " leave this event out of the redrive), else a redrive meets the same end. Then"
        f" `capss redrive` (or `aws sqs start-message-move-task --source-arn {dlq}`)"
    )
    if maybe_in_capss:
        return (
            f"An upload attempt may have reached CAPSS: do not drop the file again. {steps};"
            " the bridge then sends it with a skip-duplicates onDup so CAPSS skips what it has."
        )
    return f"Nothing reached CAPSS. {steps}, and the file is sent."


def for_error(error: CapssError, record: FileRecord, where: Deployment) -> str:
    """What ops changes in the deployed stack when a step failed with this error."""
    secret = where.secret(record.license)
    if isinstance(error, BadCredentials):
        return (
            f"Put the client id and secret from CAPSS's API Client page (for this CAPSS"
            f" environment) into the secret {secret}: `aws secretsmanager put-secret-value"
            f" --secret-id {secret} --secret-string '{SECRET_JSON}'`, {AGAIN}"
        )
    if isinstance(error, TlsFailure):
        return (
            "The TLS connection to CAPSS failed. If the handshake failed,"
            f" {set_parameter(where, 'TlsCiphers', 'DEFAULT@SECLEVEL=1')}; if the certificate"
            f" was refused, check the CapssEnvironment parameter and CAPSS's certificate; {AGAIN}"
        )
    if isinstance(error, RequestRejected):
        for name, parameter, metadata in (
            ("ondup", "OnDup", "capss-on-dup"),
            ("onerror", "OnError", "capss-on-error"),
        ):
            if name in error.capss_message.lower():
                return option_refused(parameter, metadata, maybe_in_capss=record.maybe_in_capss)
        return (
            "CAPSS refused the file as sent: correct what its message says, then drop the"
            f" corrected file again: {drop_again(record)}."
        )
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


# The `capss` command's next steps: its user holds a client id and secret, not the stack.
CLI_FIX_FILE = "Correct the problems listed and submit the file again: nothing was sent."
CLI_STRICT = "Resolve the warnings (or leave out --strict) and submit again: nothing was sent."
CLI_MAYBE_SENT = (
    "CAPSS may have the file: look for it on the CAPSS web site before submitting it again;"
    " to let CAPSS skip what it already saved, submit with --on-dup skipDuplicates."
)
CLI_LOOK_UP = "CAPSS has the file: look it up on the CAPSS web site; do not submit it again."
CLI_FIX_ITEMS = (
    "Error items were not saved: correct them and send them again (capss submit, or"
    " capss submit --update for item corrections)."
)
CLI_DUPLICATES = "The duplicate items were already in CAPSS (sent before): nothing to do for them."
CLI_FAILED = "CAPSS saved nothing: correct what its message says and submit again."


def cli_next_step(outcome: Outcome, counts: Counts) -> str | None:
    """What the person at the command line does about a job CAPSS has answered for."""
    if outcome is Outcome.COMPLETE_WITH_ISSUES:
        return with_issues(counts, errors=CLI_FIX_ITEMS, duplicates=CLI_DUPLICATES)
    if outcome is Outcome.FAILED:
        return CLI_FAILED
    return None


def cli_follow(status_url: str) -> str:
    return (
        "CAPSS has the file: do not submit it again. Follow it with"
        f" `capss status {status_url}` (with the same CAPSS_BASE_URL, CAPSS_API,"
        " CAPSS_CLIENT_ID and CAPSS_CLIENT_SECRET)."
    )


def next_step(record: FileRecord, where: Deployment) -> str:
    """The advice for a final outcome; for a finish with issues, only what CAPSS counted."""
    if record.hint:
        return record.hint
    if record.outcome is Outcome.FAILED and record.maybe_in_capss:
        return FAILED_IN_CAPSS
    issues = record.outcome is Outcome.COMPLETE_WITH_ISSUES
    if issues and not record.counts.errors and record.resent:
        return RESENT_DUPLICATES
    return next_steps(record, where)[record.outcome]


# The missed-report monitor and the stuck-file sweep (capss.compliance.monitor).
EARLY_WARNING = (
    "Ask each store named to drop its file before the end of today (the deadline);"
    " a store that was closed that day: `capss stores add LICENSE --closures DATE` (then it"
    " is not expected)."
)
MISSED = {
    "missing": (
        "No file holds the day's transactions: ask the store to export and drop it now (a late"
        " report is still owed, as soon as it can be made); if the store was closed that day,"
        " `capss stores add LICENSE --closures DATE`; if it traded but had nothing to report,"
        " `capss stores quiet LICENSE DATE` (or the POS drops incoming/quiet/LICENSE/DATE)."
    ),
    "partly_reported": (
        "CAPSS saved only some of the day's items: `capss submissions show FILE_ID` lists the"
        " error items; correct them in the POS and drop a file with those transactions."
    ),
    "failed": (
        "A file covering the day reached no report in CAPSS: act on that file's own alert"
        " (`capss submissions show FILE_ID`); drop a corrected file only where it says so."
    ),
    "processing": (
        "A file covering the day is still with CAPSS: `capss submissions show FILE_ID`;"
        " it counts once CAPSS finishes it."
    ),
}
STUCK_CLAIMED = (
    "Nothing reached CAPSS. `capss redrive --dry-run` shows whether its S3 event waits in"
    " the dead-letter queue (then `capss redrive`); otherwise `capss resubmit FILE_ID`"
    " (the stuck record is closed as `failed` and the file sent as a new version)."
)
STUCK_UPLOADING = (
    "An upload was attempted and not answered: CAPSS may have the file. Look for it in"
    " CAPSS before sending again; then `capss resubmit FILE_ID --force --on-dup skipDuplicates`"
    " (CAPSS skips what it has; the stuck record is closed as `failed`)."
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
