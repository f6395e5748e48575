"""Event ingestion: validate a batch, dedupe against raw events, fold into rollups, commit."""
