"""The command line, one module per command group (see coder/cli.py, which registers them)."""
