"""The HTTP edge: GraphQL (``api.graphql``) and plain HTTP endpoints (``api.http``).

Translation only: requests become calls on services, results and errors become
responses. No business rule lives here.
"""
