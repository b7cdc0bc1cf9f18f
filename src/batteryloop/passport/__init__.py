"""The battery passport (EU 2023/1542 Annex XIII): model, access tiers, identifiers, QR codes, versions."""
