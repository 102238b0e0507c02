"""A CAPSS look-alike for tests and the demo: both API generations over real HTTP(S) on 127.0.0.1.

    sim = CapssSimulator(tls=True, polls_to_complete=2)
    sim.add_client("apitest", "Password1", license_number="000000300")
    with sim:
        ...  # sim.base_url, sim.ca_pem_path, sim.requests, sim.jobs, sim.inject(Fault(...))

It follows `docs/capss-api.md`: `/oauth2/token` (JWT, "Bearer") and `/oauth/token`
(UUID, "bearer") with HTTP Basic; one live token per client and generation, handed back with its
remaining lifetime; `save`/`updateItem` answer 202 with a status link; a job answers 202 for its
first `polls_to_complete - 1` status calls, then its final body in its generation's shape. A token
works only for its own generation's paths; a job is visible only to its own license.

What a file decides (markers are plain text in the XML):
- an item whose `description` contains `[sim:error]` is an error item: never saved; with
  `onError=cancel` nothing of the file is saved;
- an item already saved for the license before (same transaction time, loanBuyNumber, article,
  brand, model, serial number and description), or twice in one file, is a duplicate:
  `onDup=cancel` saves nothing, `submitWithoutDup` (or `submitWithoutDups`) skips it,
  `submitDups` saves it again;
- a `licenseNumber` containing `[sim:reject]` (the marker is ignored when matching the license)
  or an item description containing `[sim:fail]` makes the job fail on CAPSS's side: its status
  answers 500 with an error body, nothing saved;
- an item whose `description` contains `[sim:quote]` is an error item whose message quotes its
  transaction's customer fields back (whether the real CAPSS quotes field values is unknown).
Each job keeps the file as CAPSS received it (`sim.jobs[n].data`).
Both `onDup` and `onError` default to `cancel`; other values answer 400, as do a missing file part,
a file that is not XML, has no license, transactions or items, or carries another license.

Faults (`sim.inject(Fault(...))`, or the shortcuts `Fault.error(503, "upload")`, `Fault.slow(2)`,
`Fault.dropped("upload", after_accept=True)`, `Fault.not_found(times=2)`,
`Fault.unauthorized()`, `Fault.links_list()`, `Fault.foreign_link()`, `Fault.malformed()`) hit the
next `times` requests of their endpoint ("token", "upload", "update", "status" or "any") and,
if given, generation; a request takes the first pending fault that matches it.

Every request is logged (`sim.requests`, `sim.count(...)`) before its answer is sent, with the
Authorization value redacted; `sim.max_in_flight` is the most upload/update requests served at
once (`sim.upload_delay` makes each take longer).
"""

from __future__ import annotations

from local.simulator._faults import Fault
from local.simulator._jobs import Job
from local.simulator._server import CapssSimulator, SimRequest
from local.simulator._tls import LEGACY_RSA_CIPHERS

__all__ = ["CapssSimulator", "Fault", "Job", "LEGACY_RSA_CIPHERS", "SimRequest"]
