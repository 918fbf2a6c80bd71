"""One module per `ledger` sub-command group; see ledger.entrypoints.cli."""
