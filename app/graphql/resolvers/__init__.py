"""Resolvers: read from the store through the context's pool, return app.graphql.types."""
