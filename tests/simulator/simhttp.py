"""Plain HTTP steps against the simulator, as the DOJ's curl examples take them."""

from __future__ import annotations

from typing import Any

import httpx

CLIENT_ID = "apitest"
SECRET = "Password1"
LICENSE = "000000300"

PATHS = {
    "current": {
        "token": "/oauth2/token",
        "save": "/api/bulkimport/save",
        "status": "/api/bulkimport/status/",
        "update_status": "/api/itemupdate/status/",
    },
    "legacy": {
        "token": "/oauth/token",
        "save": "/api/bulkupload/save",
        "status": "/api/bulkupload/show/",
        "update_status": "/api/itemupdate/show/",
    },
}


def get_token(
    http: httpx.Client, generation: str, client_id: str = CLIENT_ID, secret: str = SECRET
) -> str:
    response = http.post(
        PATHS[generation]["token"],
        auth=(client_id, secret),
        data={"grant_type": "client_credentials", "scope": "api"},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def xml_file(
    *transactions: list[str], license_number: str = LICENSE, update: bool = False
) -> bytes:
    """An upload file: one list of item descriptions per transaction (default: one clean item).

    With `update`, an item-update file: the items (by loanBuyNumber) straight under the data.
    """
    shapes = transactions or (["Men's stainless steel wristwatch"],)
    blocks = []
    for t, descriptions in enumerate(shapes, start=1):
        items = "".join(
            f"<item><type>BUY</type><loanBuyNumber>B-{t}-{i}</loanBuyNumber><amount>10.00</amount>"
            f"<article>WATCH</article><serialNumber>SN{t}{i}</serialNumber>"
            f"<description>{text}</description></item>"
            for i, text in enumerate(descriptions, start=1)
        )
        if update:
            blocks.append(f"<items>{items}</items>")
        else:
            blocks.append(
                "<propertyTransaction><transactionTime>2025-01-15T14:30:00</transactionTime>"
                f"<customer><custLastName>on file</custLastName></customer><items>{items}</items>"
                "</propertyTransaction>"
            )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<capssUpload xmlns:xsi='
        '"http://www.w3.org/2001/XMLSchema-instance">'
        f'<bulkUploadData licenseNumber="{license_number}">{"".join(blocks)}</bulkUploadData>'
        "</capssUpload>"
    ).encode()


def upload(
    http: httpx.Client,
    generation: str,
    token: str,
    data: bytes,
    *,
    update: bool = False,
    name: str = "day.xml",
    onDup: str | None = None,
    onError: str | None = None,
) -> httpx.Response:
    path = "/api/itemupdate/updateItem" if update else PATHS[generation]["save"]
    field = "itemUpdateFile" if update else "bulkUploadFile"
    params = {key: value for key, value in (("onDup", onDup), ("onError", onError)) if value}
    return http.post(
        path,
        headers=bearer(token) if token else {},
        params=params,
        files={field: (name, data, "text/xml")},
    )


def finish(http: httpx.Client, token: str, accepted: httpx.Response) -> httpx.Response:
    """Polls the job's link until it is no longer processing (at most a few calls)."""
    link = accepted.json()["links"]["href"]
    for _ in range(5):
        response = http.get(link, headers=bearer(token))
        if response.status_code != 202:
            return response
    raise AssertionError("job never finished")


def body(response: httpx.Response) -> dict[str, Any]:
    data = response.json()
    assert isinstance(data, dict)
    return data
