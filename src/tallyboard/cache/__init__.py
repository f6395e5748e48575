"""The per-organization statistics cache: in-process by default, Redis when configured."""
