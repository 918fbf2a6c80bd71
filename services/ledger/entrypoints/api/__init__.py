"""The JSON API: one controller per resource, all under /api/v1."""
