"""The ``condgen`` command: one module per subcommand, no model math here.

Errors of our own (:class:`condgen.UserError`) become one rich paragraph on
stderr and their exit code (2, or 130 for Ctrl-C, 143 for SIGTERM). An error
raised inside a plugin's component is named after that component and its
plugin (exit 2); ``--debug`` adds the traceback. Anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import sys

import click

from ..errors import UserError
from .app import cli, err_console, report


def main(argv: list[str] | None = None) -> int:
    from . import compare, eval_cmd, inpaint, new_plugin, plugins_cmd, run, sample, validate  # noqa: F401  (registers the subcommands)

    try:
        # Without standalone mode click returns (not raises) the code of an explicit exit.
        code = cli.main(args=argv, prog_name="condgen", standalone_mode=False)
    except UserError as error:
        report(error)
        return error.exit_code
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Abort:
        err_console.print("Aborted.")
        return 130
    except KeyboardInterrupt:  # Ctrl-C outside the training loop (which saves and raises Interrupted)
        err_console.print("Interrupted.")
        return 130
    except click.exceptions.Exit as done:
        return done.exit_code
    except Exception as error:
        from ..origins import blame

        blamed = blame(error)
        if blamed is None:
            raise
        report(blamed)
        return blamed.exit_code
    return code if isinstance(code, int) else 0


def entry_point() -> None:
    sys.exit(main())
