"""replay.dedup_window: a per-session TTL dedup window behaves like its reference model.

A Hypothesis state machine drives the window (subscribe, unsubscribe, publish, advance a fake
clock) and compares every answer and every window size with a small reference model:

- an event id seen within the TTL is deduplicated; after the TTL it is delivered again;
- TTL = 0 disables expiry (entries leave only through the per-session bound), it does not mean
  "expire at once";
- while a session has no subscribers nothing is delivered and nothing is recorded;
- the last unsubscribe frees the session's window.

Failures shrink to a minimal program of steps, which Hypothesis prints.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import Counter, OrderedDict
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from pydantic import BaseModel, ConfigDict, Field

from harness.pack import Target, UserError, fresh_subject, scenario

from ._common import FakeClock

SESSIONS = ("s1", "s2")
EVENTS = ("e1", "e2", "e3", "e4", "e5")


class DedupWindowBinding(BaseModel):
    """A python target whose factory builds the hub; its methods may be sync or async."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subscribe: str = "subscribe"  # subscribe(session) -> a token for unsubscribe
    unsubscribe: str = "unsubscribe"  # unsubscribe(session, token)
    publish: str = "publish"  # publish(session, event_id) -> True when delivered
    window_size: str = "window_size"  # window_size(session) -> entries held (0: no window)
    ttl_kwarg: str = "dedup_ttl_seconds"
    max_entries_kwarg: str = "dedup_max_entries_per_session"
    clock_kwarg: str = "clock"
    ttls: list[float] = Field(default_factory=lambda: [0.0, 5.0], min_length=1)
    max_entries: int = Field(default=3, ge=1)
    #: An entry exactly ``ttl`` seconds old is expired (False: it expires only after that).
    expire_at_ttl: bool = True
    examples: int = Field(default=30, ge=1, le=10_000)
    steps: int = Field(default=25, ge=1, le=1_000)
    #: None: derandomised (the same programs every run); an int picks other programs.
    seed: int | None = None


class Model:
    """The reference: what the window must answer, computed the obvious way."""

    def __init__(self, ttl: float, max_entries: int, expire_at_ttl: bool):
        self.ttl, self.max_entries, self.expire_at_ttl = ttl, max_entries, expire_at_ttl
        self.subscribers: Counter[str] = Counter()
        self.windows: dict[str, OrderedDict[str, float]] = {}

    def _expired(self, seen_at: float, now: float) -> bool:
        if self.ttl <= 0:
            return False
        age = now - seen_at
        return age >= self.ttl if self.expire_at_ttl else age > self.ttl

    def publish(self, session: str, event: str, now: float) -> bool:
        if self.subscribers[session] == 0:
            return False
        window = self.windows.setdefault(session, OrderedDict())
        for key in [k for k, t in window.items() if self._expired(t, now)]:
            del window[key]
        if event in window:
            return False
        window[event] = now
        while len(window) > self.max_entries:
            window.popitem(last=False)
        return True

    def unsubscribe(self, session: str) -> None:
        self.subscribers[session] -= 1
        if self.subscribers[session] == 0:
            self.windows.pop(session, None)

    def held(self, session: str) -> int:
        """Entries kept, counting expired ones not yet evicted (a lazy window may keep them)."""
        return len(self.windows.get(session, ()))

    def size(self, session: str, now: float) -> int:
        """Entries that are still live at ``now``."""
        window = self.windows.get(session, OrderedDict())
        return sum(1 for t in window.values() if not self._expired(t, now))


def _machine(binding: DedupWindowBinding, target: Target, ttl: float) -> type:
    class DedupWindowMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            self.clock = FakeClock()
            overrides = {
                binding.ttl_kwarg: ttl,
                binding.max_entries_kwarg: binding.max_entries,
                binding.clock_kwarg: self.clock,
            }
            self.hub = fresh_subject(target, overrides)
            for name in ("subscribe", "unsubscribe", "publish", "window_size"):
                method = getattr(binding, name)
                if not callable(getattr(self.hub, method, None)):
                    raise UserError(
                        f"binding.{name}={method!r}: {type(self.hub).__name__} has no such method",
                        where=f"binding.{name}",
                    )
            self.model = Model(ttl, binding.max_entries, binding.expire_at_ttl)
            self.tokens: dict[str, list[Any]] = {s: [] for s in SESSIONS}

        def call(self, name: str, *args: Any) -> Any:
            result = getattr(self.hub, getattr(binding, name))(*args)
            if inspect.isawaitable(result):
                result = self.loop.run_until_complete(result)
            return result

        @rule(session=st.sampled_from(SESSIONS))
        def subscribe(self, session: str) -> None:
            self.tokens[session].append(self.call("subscribe", session))
            self.model.subscribers[session] += 1

        @precondition(lambda self: any(self.tokens.values()))
        @rule(data=st.data())
        def unsubscribe(self, data: st.DataObject) -> None:
            session = data.draw(st.sampled_from([s for s in SESSIONS if self.tokens[s]]))
            self.call("unsubscribe", session, self.tokens[session].pop())
            self.model.unsubscribe(session)

        @rule(session=st.sampled_from(SESSIONS), event=st.sampled_from(EVENTS))
        def publish(self, session: str, event: str) -> None:
            expected = self.model.publish(session, event, self.clock())
            delivered = bool(self.call("publish", session, event))
            assert delivered == expected, (
                f"publish({session!r}, {event!r}) at t+{self.clock() - 1_700_000_000:g}s "
                f"delivered={delivered}, the model says {expected} (ttl={ttl:g}, "
                f"subscribers={self.model.subscribers[session]})"
            )

        @rule(seconds=st.sampled_from([0.5, 1.0, ttl or 1.0, (ttl or 1.0) + 0.5, 100.0]))
        def advance(self, seconds: float) -> None:
            self.clock.advance(seconds)

        @invariant()
        def window_sizes_match_the_model(self) -> None:
            now = self.clock()
            for session in SESSIONS:
                size = int(self.call("window_size", session))
                live, held = self.model.size(session, now), self.model.held(session)
                if self.model.subscribers[session] == 0:
                    assert size == 0, (
                        f"session {session!r} has no subscribers but its dedup window holds "
                        f"{size} entries: recorded while nobody was subscribed, or not freed on "
                        f"the last unsubscribe (ttl={ttl:g})"
                    )
                assert live <= size <= held, (
                    f"session {session!r}: the window holds {size} entries; the model has "
                    f"{live} live of {held} held (ttl={ttl:g}, max={binding.max_entries})"
                )

        def teardown(self) -> None:
            self.loop.close()

    DedupWindowMachine.__name__ = f"DedupWindow_ttl_{ttl:g}".replace(".", "_")
    return DedupWindowMachine


@scenario("replay.dedup_window", binding=DedupWindowBinding)
def the_dedup_window_matches_its_reference_model(
    binding: DedupWindowBinding, target: Target
) -> None:
    """Random programs of subscribe/unsubscribe/publish/advance agree with the model, per TTL."""
    __tracebackhide__ = True
    for ttl in binding.ttls:
        machine = _machine(binding, target, ttl)
        config = settings(
            max_examples=binding.examples,
            stateful_step_count=binding.steps,
            deadline=None,
            database=None,
            derandomize=binding.seed is None,
            suppress_health_check=list(HealthCheck),
            print_blob=True,
            report_multiple_bugs=False,
            # The explain phase re-runs failures under a tracer; slow, and the steps say enough.
            phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
        )
        if binding.seed is not None:
            machine = hypothesis_seed(binding.seed)(machine)
        run_state_machine_as_test(machine, settings=config)
