"""placeholders.input_round_trip: what is sent in is what is stored (hash stored against sent)."""

from __future__ import annotations

import hashlib
import random
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.bindings import HttpCall, StatusSet
from harness.scenario import scenario
from harness.targets.base import Target

_EMPTY = hashlib.sha256(b"").hexdigest()


class RoundTripBinding(BaseModel):
    """``send`` stores a payload under ``{key}``; ``fetch`` reads it back, and/or the send's
    answer names the stored digest in ``digest_field``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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
    with target.client() as client:
        for index, key in enumerate(binding.keys):
            values = {**binding.values, "key": key}
            kwargs, sent = _payload(binding, index)
            want = hashlib.sha256(sent).hexdigest()
            answer = binding.send.send(client, values, **kwargs)
            if answer.status_code not in binding.success:
                problems.append(f"{binding.send} ({key}) answered {answer.status_code}: "
                                f"{answer.text[:200]!r}")
                continue
            if binding.digest_field is not None:
                body = answer.json()
                got = body.get(binding.digest_field) if isinstance(body, dict) else None
                if got != want:
                    problems.append(
                        f"{binding.send} ({key}): sent {len(sent)} bytes (sha256 {_short(want)}), "
                        f"the answer's {binding.digest_field} is "
                        f"{_short(str(got)) if got else repr(got)}: the input was not stored")
            if binding.fetch is not None:
                back = binding.fetch.send(client, values, headers=binding.headers)
                if back.status_code not in binding.success:
                    problems.append(f"{binding.fetch} ({key}) answered {back.status_code}")
                    continue
                if binding.fetch_field is not None:
                    field = back.json().get(binding.fetch_field)
                    data = field.encode() if isinstance(field, str) else repr(field).encode()
                else:
                    data = back.content
                got = hashlib.sha256(data).hexdigest()
                if got != want:
                    problems.append(
                        f"{binding.fetch} ({key}): gave back {len(data)} bytes (sha256 "
                        f"{_short(got)}) for {len(sent)} sent (sha256 {_short(want)})")
    if problems:
        raise AssertionError(
            "placeholders.input_round_trip: data sent in does not come back out (a placeholder "
            "that discards its input?)\n  " + "\n  ".join(problems)
            + f"\n  rerun with seed={binding.seed}, size={binding.size}")
