"""Self-metering of the GraphQL API: count in memory on the request path, flush at the edge."""
