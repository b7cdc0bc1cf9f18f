"""Traceability: lifecycle events, the signed hash-chained ledger, material lots and mass balance."""
