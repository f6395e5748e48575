"""The GraphQL endpoint: schema, document cache and limits, resolvers, error codes."""
