"""A client secret rotated while files are in flight: the new secret in Secrets Manager, the
old one revoked at CAPSS. The cached secret is read again once, one new token is fetched,
and every file still ends `complete`; an unchanged secret CAPSS refuses fails as before."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from capss import Outcome
from capss.errors import BadCredentials
from capss.pipeline.files import FileRef
from capss.pipeline.poll import check_status
from capss.pipeline.records import FileRecord, Phase
from capss.pipeline.submit import submit_file
from capss.pipeline.values import LicenseCredentials

from local.reliability import variant
from tests.integration.pipeline.conftest import BUCKET, CHAIN_UPLOADER, LICENSES, Pipeline, follow

LICENSE = "000000300"
CLIENT_ID, OLD_SECRET = LICENSES[LICENSE]
NEW_SECRET = "secret-300-rotated"


def _secret_reads(pipeline: Pipeline) -> list[str]:
    """Every GetSecretValue the functions' Secrets Manager client sends from now on."""
    reads: list[str] = []
    client = pipeline.submit.credentials._provider.client  # type: ignore[attr-defined]
    client.meta.events.register(
        "before-parameter-build.secrets-manager.GetSecretValue",
        lambda params, **_: reads.append(params["SecretId"]),
    )
    return reads


def _rotate(pipeline: Pipeline, *, store: bool = True) -> None:
    """Ops creates a new secret on CAPSS's page (the old one stops working at once) and,
    unless `store` is False, puts it into Secrets Manager."""
    if store:
        client = pipeline.submit.credentials._provider.client  # type: ignore[attr-defined]
        client.put_secret_value(
            SecretId=f"capss/{LICENSE}",
            SecretString=json.dumps({"client_id": CLIENT_ID, "client_secret": NEW_SECRET}),
        )
    pipeline.sim.rotate_secret(CLIENT_ID, NEW_SECRET)


def _state(pipeline: Pipeline, record: FileRecord) -> dict[str, Any]:
    described = pipeline.sfn.describe_execution(executionArn=record.execution_arn)
    state: dict[str, Any] = json.loads(described["input"])
    return state


def _submitted(pipeline: Pipeline, name: str) -> tuple[FileRecord, dict[str, Any]]:
    key = f"incoming/transactions/{LICENSE}/{name}.xml"
    body = variant(name)  # items of its own: not a repeat of another file's bytes
    answer = pipeline.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    ref = FileRef(BUCKET, key, answer["VersionId"], size=len(body), uploader=CHAIN_UPLOADER)
    record = submit_file(ref, pipeline.submit, pipeline.submit_settings)
    assert record.phase is Phase.SUBMITTED
    return record, _state(pipeline, record)


def test_rotation_mid_poll_costs_one_secret_read_and_one_token(pipeline: Pipeline) -> None:
    first, first_state = _submitted(pipeline, "a")
    second, second_state = _submitted(pipeline, "b")
    reads = _secret_reads(pipeline)
    tokens_before = pipeline.sim.count(endpoint="token")

    _rotate(pipeline)
    results = [follow(pipeline, first_state), follow(pipeline, second_state)]

    assert results == [{"outcome": "complete", "alerted": False}] * 2
    for record in (first, second):
        final = pipeline.submit.records.get(record.pk)
        assert final is not None
        assert final.outcome is Outcome.COMPLETE
    assert reads == [f"capss/{LICENSE}"]
    assert pipeline.sim.count(endpoint="token") - tokens_before == 2  # old secret refused, new
    assert pipeline.sim.count(endpoint="token", status=200) - tokens_before == 1
    assert pipeline.alerts.sent == []
    assert pipeline.uploads() == 2


def test_upload_after_rotation_rereads_the_secret_and_sends_the_file(pipeline: Pipeline) -> None:
    _submitted(pipeline, "a")  # the old secret and its token are cached now
    reads = _secret_reads(pipeline)
    _rotate(pipeline)

    record, state = _submitted(pipeline, "b")

    assert reads == [f"capss/{LICENSE}"]
    assert follow(pipeline, state) == {"outcome": "complete", "alerted": False}
    # The revoked token's POST got 401 (CAPSS took nothing), the new token's was accepted.
    assert [j.file_name for j in pipeline.sim.jobs].count("b.xml") == 1
    assert record.upload_attempts == 2
    assert pipeline.alerts.sent == []


def test_a_refused_secret_not_changed_in_the_store_fails_after_one_reread(
    pipeline: Pipeline,
) -> None:
    _, state = _submitted(pipeline, "a")
    reads = _secret_reads(pipeline)
    tokens_before = pipeline.sim.count(endpoint="token")
    _rotate(pipeline, store=False)

    # The state machine's Catch takes it from here to the finish step (`failed`, an alert).
    with pytest.raises(BadCredentials):
        check_status(state, pipeline.status, pipeline.status_settings)

    assert reads == [f"capss/{LICENSE}"]
    assert pipeline.sim.count(endpoint="token") - tokens_before == 1  # not tried twice


def test_callers_refused_at_once_reread_the_secret_once(pipeline: Pipeline) -> None:
    credentials = pipeline.submit.credentials
    stale = credentials.for_license(LICENSE)
    reads = _secret_reads(pipeline)
    _rotate(pipeline)
    got: list[LicenseCredentials] = []

    def refused() -> None:
        got.append(credentials.for_license(LICENSE, stale=stale))

    threads = [threading.Thread(target=refused) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert reads == [f"capss/{LICENSE}"]
    assert {c.client_secret for c in got} == {NEW_SECRET}
