"""Commands registered on the main `coder` app (see the import at the end of coder/cli.py)."""
from __future__ import annotations
