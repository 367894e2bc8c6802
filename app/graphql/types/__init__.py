"""GraphQL object types, enums and scalars (snake_case here, camelCase on the wire)."""
