"""Exports (spec §9): durable export jobs, built by a task in every server process."""
