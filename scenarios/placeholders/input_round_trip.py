"""placeholders.input_round_trip: what is sent in is what is stored (hash stored against sent)."""

from __future__ import annotations

import hashlib
import random
from typing import Any, Literal

import httpx
from pydantic import Field, model_validator

from harness.pack import (
    FindingPolicy,
    HttpCall,
    StatusSet,
    Target,
    collect,
    conclude,
    curl,
    report_finding,
    scenario,
)

CHECK = "placeholders.input_round_trip"
_EMPTY = hashlib.sha256(b"").hexdigest()


class RoundTripBinding(FindingPolicy):
    """``send`` stores a payload under ``{key}``; ``fetch`` reads it back, and/or the send's
    answer names the stored digest in ``digest_field``."""

    send: HttpCall
    fetch: HttpCall | None = None
    #: JSON key of the send's answer holding the sha256 (hex) of what was stored.
    digest_field: str | None = None
    #: JSON key of the fetch's answer holding the data; default: the raw body.
    fetch_field: str | None = None
    #: ``bytes``: a random body sent as application/octet-stream; ``json``: {"data": <text>}
    #: (then `fetch_field`, or the digest of the UTF-8 text, is compared).
    payload: Literal["bytes", "json"] = "bytes"
    size: int = Field(default=4096, ge=1, le=10_000_000)
    #: Other path placeholders' values; ``{key}`` is filled by the check.
    values: dict[str, str] = Field(default_factory=dict)
    keys: tuple[str, ...] = Field(default=("fg-round-trip-1", "fg-round-trip-2"), min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    success: StatusSet = frozenset(range(200, 300))
    seed: int = 0

    @model_validator(mode="after")
    def _something_to_compare(self) -> RoundTripBinding:
        if self.fetch is None and self.digest_field is None:
            raise ValueError("set fetch (read it back) and/or digest_field (the stored hash)")
        return self


def _payload(binding: RoundTripBinding, index: int) -> tuple[dict[str, Any], bytes]:
    rng = random.Random(binding.seed * 1000 + index)
    if binding.payload == "bytes":
        data = rng.randbytes(binding.size)
        headers = {"content-type": "application/octet-stream", **binding.headers}
        return {"content": data, "headers": headers}, data
    text = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(binding.size))
    return {"json": {"data": text}, "headers": binding.headers}, text.encode()


def _short(digest: str) -> str:
    return digest[:12] + (" = sha256 of nothing" if digest == _EMPTY else "")


@scenario("placeholders.input_round_trip", binding=RoundTripBinding)
def data_sent_in_is_what_is_stored(binding: RoundTripBinding, target: Target) -> None:
    """Each payload's sha256 equals the digest of what the target stored and gives back."""
    problems: list[str] = []
    judged = 0
    with collect() as findings, target.client() as client:

        def crashed(response: httpx.Response, call: HttpCall, key: str) -> bool:
            """A 5xx stored nothing and read nothing: this key is not judged, only reported."""
            if response.status_code < 500:
                return False
            report_finding(
                CHECK,
                f"{call} ({key}) answered {response.status_code}: {response.text[:200]!r}",
                curl(response.request),
            )
            return True

        for index, key in enumerate(binding.keys):
            values = {**binding.values, "key": key}
            kwargs, sent = _payload(binding, index)
            want = hashlib.sha256(sent).hexdigest()
            answer = binding.send.send(client, values, **kwargs)
            if crashed(answer, binding.send, key):
                continue
            if answer.status_code not in binding.success:
                problems.append(
                    f"{binding.send} ({key}) answered {answer.status_code}: {answer.text[:200]!r}"
                )
                continue
            if binding.digest_field is not None:
                judged += 1
                body = answer.json()
                got = body.get(binding.digest_field) if isinstance(body, dict) else None
                if got != want:
                    problems.append(
                        f"{binding.send} ({key}): sent {len(sent)} bytes (sha256 {_short(want)}), "
                        f"the answer's {binding.digest_field} is "
                        f"{_short(str(got)) if got else repr(got)}: the input was not stored"
                    )
            if binding.fetch is not None:
                back = binding.fetch.send(client, values, headers=binding.headers)
                if crashed(back, binding.fetch, key):
                    continue
                if back.status_code not in binding.success:
                    problems.append(f"{binding.fetch} ({key}) answered {back.status_code}")
                    continue
                judged += 1
                if binding.fetch_field is not None:
                    field = back.json().get(binding.fetch_field)
                    data = field.encode() if isinstance(field, str) else repr(field).encode()
                else:
                    data = back.content
                got = hashlib.sha256(data).hexdigest()
                if got != want:
                    problems.append(
                        f"{binding.fetch} ({key}): gave back {len(data)} bytes (sha256 "
                        f"{_short(got)}) for {len(sent)} sent (sha256 {_short(want)})"
                    )
    if not problems and not judged:
        # Nothing compared is no proof that input is kept: the check cannot pass on it.
        raise AssertionError(
            f"{CHECK}: no key could be compared: every send or fetch answered a 5xx\n  "
            + "\n  ".join(f"finding: {f.problem}" for f in findings)
        )
    conclude(
        CHECK,
        "data sent in does not come back out (a placeholder that discards its input?)",
        problems,
        findings,
        binding.server_errors,
        tail=f"\n  rerun with seed={binding.seed}, size={binding.size}",
    )
