"""The GraphQL API: strawberry types, queries and mutations per feature, auth, the Starlette app."""
