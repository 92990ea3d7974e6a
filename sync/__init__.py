"""Fidelis sync core: change-log entries (canonical bytes, hash, signature), the chain, HLC.

Library code only: stdlib and ``cryptography``; no Flask routes, no models.
"""
