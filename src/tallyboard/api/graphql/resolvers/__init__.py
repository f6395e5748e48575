"""Resolvers: one module per area, each binding its root fields onto the Query type.

Resolvers translate only: GraphQL arguments -> service calls -> plain dicts shaped
like the schema's types (dicts are the cheapest thing for graphql-core to read).
"""
