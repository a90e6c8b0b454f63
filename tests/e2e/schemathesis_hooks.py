"""Schemathesis hooks for the e2e run (tests/e2e/schema.rs sets SCHEMATHESIS_HOOKS).

Idempotency-Key: a client sends a fresh key with every new request and the same key only
when it retries that request. Generated keys repeat (Hypothesis likes short strings), and a
repeated key with another body is rightly a 422, or a replay of an earlier response (a
create's 201 for a task deleted since). So a generated key that is valid is replaced by a
fresh UUID, as a real client's would be; an invalid one is left alone, so the server is
still checked to refuse it (400). Negative cases are left alone altogether: they expect a
refusal whatever their key, and touching their headers would make schemathesis re-check
them as positive (and put back a header the case had left out on purpose).
"""

import re
import uuid

import schemathesis

VALID_KEY = re.compile(r"^[!-~]([ -~]*[!-~])?$")


@schemathesis.hook
def before_call(context, case, kwargs):
    meta = case.meta
    if meta is not None and meta.generation.mode.is_negative:
        return
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() != "idempotency-key":
            continue
        value = headers[name]
        if isinstance(value, str) and len(value) <= 255 and VALID_KEY.match(value):
            headers[name] = str(uuid.uuid4())
