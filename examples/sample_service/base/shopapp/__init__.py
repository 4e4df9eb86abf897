"""shopapp: a small ticketing and back-office service (the Fixguard sample target)."""

__version__ = "0.4.2"
