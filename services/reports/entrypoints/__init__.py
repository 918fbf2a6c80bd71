"""The HTTP API (Litestar) and the `reports` command line."""
