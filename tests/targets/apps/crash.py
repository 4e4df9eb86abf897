"""Crashes while being imported, as a server with a broken config does."""

print("crash app: reading config", flush=True)
raise RuntimeError("boom at startup: DATABASE_URL is not set")
