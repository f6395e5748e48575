"""graphql-core's validation with a tight bound on its one super-linear rule.

Every specified rule is linear in the document except OverlappingFieldsCanBeMerged,
which compares every pair of fields sharing a response name (fragments included) and
costs quadratic time: ``{ myUsageStatsOrganizations { id } ... }`` 450 times -- 1,800
tokens, within every other limit -- costs 0.8 s of CPU with graphql-core's default
budget of 500,000 comparison units. The documents we serve (the dashboard's, the
public reference documents, GraphiQL's introspection) spend none: they never repeat a
response name in one selection set. :data:`OVERLAP_BUDGET` bounds the rule to a few
tens of milliseconds while leaving room for hand-written documents that do
(docs/decisions/0013-graphql-document-limits.md has the measurements).
"""

from __future__ import annotations

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OverlappingFieldsCanBeMergedRule,
    ValidationContext,
    specified_rules,
    validate,
)
from graphql.validation.validate import ValidationAbortedError

__all__ = ["MAX_ERRORS", "OVERLAP_BUDGET", "ValidationOutcome", "validate_document"]

OVERLAP_BUDGET = 20_000
"""Comparison units OverlappingFieldsCanBeMerged may spend on one document."""
MAX_ERRORS = 100
"""Errors reported before validation stops (graphql-core then adds one more)."""


class _BoundedOverlappingFields(OverlappingFieldsCanBeMergedRule):
    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.rule_context.remaining_complexity_budget = OVERLAP_BUDGET


_RULES = tuple(
    _BoundedOverlappingFields if rule is OverlappingFieldsCanBeMergedRule else rule
    for rule in specified_rules
)


class ValidationOutcome:
    """The errors of one validation, and whether it stopped before the end."""

    __slots__ = ("errors", "too_complex")

    def __init__(self, errors: list[GraphQLError], too_complex: bool) -> None:
        self.errors = errors
        self.too_complex = too_complex
        """The comparison budget ran out, or the fragments nest too deeply to follow:
        the document's validity is unknown and it never executes."""


def validate_document(schema: GraphQLSchema, document: DocumentNode) -> ValidationOutcome:
    errors = validate(schema, document, _RULES, max_errors=MAX_ERRORS, hide_suggestions=True)
    # graphql-core appends a ValidationAbortedError when it stops: after MAX_ERRORS
    # errors (the document is invalid anyway), or when the budget or the nesting ran out.
    aborted = bool(errors) and isinstance(errors[-1], ValidationAbortedError)
    return ValidationOutcome(errors, aborted and len(errors) <= MAX_ERRORS)
