"""The command line interface (Typer). Each module is one group of commands."""
