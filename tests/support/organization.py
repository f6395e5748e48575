"""The organization lookup a public client sends (spec §9), word for word."""

from __future__ import annotations

__all__ = ["GET_ORGANIZATION"]

GET_ORGANIZATION = """query GetOrganization($id: ID!) {
  organization(id: $id) { id uuid name planName role membersCount pipesCount createdAt }
}"""
