"""PostgreSQL and HTTP adapters: the feed reader, read-model tables, queries, the ledger client."""
