"""Pure logic of the reports service: projections folded from events, rules, formats. No I/O."""
