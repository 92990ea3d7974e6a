"""Fidelis central: the sync API for edges, the brand ledger, rules publishing and the JSON API."""
