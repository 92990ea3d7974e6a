"""The shop's edge service: till API, local ledger and the signed change log."""
