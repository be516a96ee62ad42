"""`python -m segmentry …`: the same as the `segmentry` command."""

from segmentry.cli.main import main

if __name__ == "__main__":
    main()
