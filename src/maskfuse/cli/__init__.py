"""The `maskfuse` command (entry point `maskfuse.cli:main`)."""

from maskfuse.cli.app import main, parser

__all__ = ["main", "parser"]
