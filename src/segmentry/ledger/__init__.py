"""The order ledger: its schema and its one writer."""
