"""Logs and metrics: how an operator sees what Tallyboard is doing."""
