"""The pure domain: state folded from events, and decisions (state + command -> events).

No I/O here: the command handlers (ledger.handlers) load state and append what is decided.
"""
