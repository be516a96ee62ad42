"""The command line interface (Typer). Each module is one group of commands.

Start-up: the web app, the benchmarks and the fake platforms are imported inside the commands
that use them (marked ``# start-up``), never at the top of a CLI module. Importing them with the
CLI made every command start about 1.4 s later on the 2-core CI machine (median of five:
1.1 s to import ``segmentry.cli.main`` alone, 2.5 s with ``segmentry.web``, ``segmentry.bench``
and ``segmentry.testing``), and most commands (``run``, ``segments``, ``import``) use none of
them. ``tests/app/test_architecture.py`` fails on any other import inside a function.
"""
