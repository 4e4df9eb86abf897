import asyncio

import pytest
from inbox.inbox import Inbox, MemoryBackend


@pytest.mark.anyio
async def test_duplicate_submissions_are_saved_once():
    backend = MemoryBackend()
    inbox = Inbox(backend)
    accepted = await asyncio.gather(*(inbox.submit("a") for _ in range(5)))
    assert sum(accepted) == 1
    assert backend.saved == ["a"]


def test_duplicate_submissions_are_saved_once_sync():
    backend = MemoryBackend()
    inbox = Inbox(backend)

    async def submit_five():
        return await asyncio.gather(*(inbox.submit("a") for _ in range(5)))

    assert sum(asyncio.run(submit_five())) == 1
    assert backend.saved == ["a"]
