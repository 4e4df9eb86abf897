"""Schedules as text: the index chosen at every step where more than one callback was ready.

A schedule is written as dot-separated choices, with `c*r` for `r` repeats of `c` and trailing
zeros dropped, so FIFO order (what plain asyncio does) is the empty string and a schedule that
deviates from FIFO twice reads like `0*7.1.0*3.2`. Past the end of a schedule the loop runs FIFO.
"""

from __future__ import annotations

from ...errors import UserError


def encode(choices: tuple[int, ...] | list[int]) -> str:
    """Render choices as schedule text (`0*7.1.0*3.2`); trailing zeros are dropped."""
    trimmed = list(choices)
    while trimmed and trimmed[-1] == 0:
        trimmed.pop()
    parts: list[str] = []
    i = 0
    while i < len(trimmed):
        j = i
        while j < len(trimmed) and trimmed[j] == trimmed[i]:
            j += 1
        run = j - i
        parts.append(str(trimmed[i]) if run == 1 else f"{trimmed[i]}*{run}")
        i = j
    return ".".join(parts)


def decode(text: str) -> tuple[int, ...]:
    """Parse schedule text back into choices; the inverse of `encode` up to trailing zeros."""
    text = text.strip()
    if not text:
        return ()
    out: list[int] = []
    for part in text.split("."):
        value, _, repeat = part.partition("*")
        try:
            choice = int(value)
            count = int(repeat) if repeat else 1
        except ValueError:
            raise UserError(
                f"schedule={text!r}: {part!r} is not a choice",
                hint="write dot-separated indices with optional repeats, e.g. '0*7.1.0*3.2'",
            ) from None
        if choice < 0 or count < 1:
            raise UserError(
                f"schedule={text!r}: {part!r} must be a non-negative index with a positive repeat",
                hint="write e.g. '0*7.1'",
            )
        out.extend([choice] * count)
    return tuple(out)


def deviations(choices: tuple[int, ...] | list[int]) -> int:
    """How many decisions left FIFO order: the schedule's preemption (delay) count."""
    return sum(1 for c in choices if c != 0)
