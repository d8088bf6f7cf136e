"""A command group whose first argument may be data instead of a subcommand.

``mlvigil profile DATA -o OUT`` and ``mlvigil profile merge A B -o OUT`` both read
naturally; this group routes anything that is not a known subcommand (or an
option) to its default subcommand.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperGroup


class DefaultCommandGroup(TyperGroup):
    """Route ``GROUP ARG ...`` to ``GROUP <default> ARG ...`` when ARG is no subcommand."""

    default_command = "create"

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Insert the default subcommand before a first argument that is data."""
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = [self.default_command, *args]
        result: list[str] = super().parse_args(ctx, args)
        return result
