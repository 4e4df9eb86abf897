import threading

from cache.simple import SimpleCache


def test_only_one_thread_adds_a_fresh_key():
    cache = SimpleCache()
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.add("k", 1))) for _ in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1
