"""The click command class of ``run`` and ``validate``: a recipe setting typed as an option (``--epochs 1``) is
answered with the override that means it (``trainer.epochs=1``), not with the closest real option."""

from __future__ import annotations

import click

from ..errors import UserError


class RecipeCommand(click.Command):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        typed = list(args)  # click's parser consumes the list it is given
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as error:
            hint = override_hint(error.option_name, typed)
            if hint is None:
                raise
            raise UserError(f"No such option: {error.option_name}.", hint=hint) from None


def override_hint(option: str, args: list[str]) -> str | None:
    """``Did you mean the override trainer.epochs=1?`` when the option names a recipe key, else ``None``."""
    from ..recipe.overrides import keys_named

    keys = keys_named(option.lstrip("-").replace("-", "_"))
    if not keys:
        return None
    value = "VALUE"
    for index, arg in enumerate(args):
        if arg.startswith(option + "="):
            value = arg.partition("=")[2]
        elif arg == option and index + 1 < len(args) and not args[index + 1].startswith("-"):
            value = args[index + 1]
    overrides = " or ".join(f"{key}={value}" for key in keys)
    return f"Recipe settings are KEY=VALUE overrides after the recipe: did you mean {overrides}?"
