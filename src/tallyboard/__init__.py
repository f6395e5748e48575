"""Tallyboard: exact usage metering and usage statistics for multi-tenant SaaS platforms.

The package layout follows the data's journey; see ``docs/architecture.md``.
"""

__version__ = "0.1.0"
