"""Allowance alerts after they are recorded: webhook delivery and what users read."""
