"""Resolvers: one module per area, each binding its root fields onto the Query type.

Resolvers translate only: GraphQL arguments -> the statistic's typed input
(``stats/inputs.py``, every problem reported at once) -> one ``StatisticsQueries``
method (``info.context.queries``: authorization, period, service) -> plain dicts
shaped like the schema's types (dicts are the cheapest thing for graphql-core to
read). They import nothing from ``cache/`` or ``storage/``.
"""
