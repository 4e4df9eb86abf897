from concurrent.futures import ThreadPoolExecutor

from quota.store import QuotaStore


def test_grants_exactly_the_limit_under_contention():
    store = QuotaStore(limit=10)
    with ThreadPoolExecutor(max_workers=8) as pool:
        granted = sum(pool.map(lambda _: store.acquire("k"), range(200)))
    assert granted == 10
    assert store.used == {"k": 10}
