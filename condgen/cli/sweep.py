"""``condgen run RECIPE KEY=A,B ... --sweep``: the runs one by one, a summary table, then ``compare`` of them all."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from ..errors import UserError
from .app import console


def run_sweep_command(recipe_path: Path, overrides: list[str]) -> None:
    from ..engine.progress import RichReporter
    from ..engine.session import resume_run, start_run
    from ..engine.sweep import plan, run_sweep

    runs = plan(recipe_path, overrides)
    console.print(f"Sweep of [bold]{runs[0].resolved.recipe.name}[/]: {len(runs)} runs, one after another")

    def announce(index, sweep_run) -> None:
        what = {"skipped": "finished before, skipped", "resumed": "resuming", "trained": "training"}[sweep_run.outcome]
        where = f" ({sweep_run.run.path})" if sweep_run.run is not None else ""
        console.print(f"[{index + 1}/{len(runs)}] {' '.join(sweep_run.point)}: {what}{where}")

    try:
        run_sweep(
            runs,
            train=lambda sweep_run: start_run(sweep_run.resolved, RichReporter(console))[0],
            resume=lambda sweep_run: resume_run(sweep_run.run.path, RichReporter(console))[0],
            announce=announce,
        )
    except BaseException:
        console.print(summary(runs))
        console.print("The sweep stopped. Run the same command again: finished runs are skipped, this one resumes.")
        raise
    console.print(summary(runs))
    done = [sweep_run.run.path for sweep_run in runs if sweep_run.run is not None and sweep_run.outcome != "failed"]
    if len(done) > 1:
        from .compare import compare_command

        output = runs[0].resolved.recipe.output.dir / f"{runs[0].resolved.recipe.name}-sweep-compare.png"
        click.get_current_context().invoke(compare_command, runs=tuple(done), output=output)
    failed = [sweep_run for sweep_run in runs if sweep_run.outcome == "failed"]
    if failed:
        raise UserError(f"{len(failed)} of {len(runs)} sweep runs failed: " + "; ".join(
            f"{' '.join(r.point)}: {r.error}" for r in failed))


def summary(runs) -> Table:
    from ..engine.sweep import final_metrics

    table = Table(title="sweep")
    keys = [text.partition("=")[0] for text in runs[0].point]
    for key in keys:
        table.add_column(key, overflow="fold")
    for column in ("run", "epochs", "val / test -ELBO", "folder"):
        table.add_column(column, justify="left" if column in ("run", "folder") else "right", overflow="fold")
    for sweep_run in runs:
        last = final_metrics(sweep_run.run)
        elbo = last.get("val_elbo", last.get("test_elbo"))
        table.add_row(
            *(text.partition("=")[2] for text in sweep_run.point),
            sweep_run.outcome,
            str(last.get("epoch", "-")),
            "-" if elbo is None else f"{elbo:.2f}",
            "-" if sweep_run.run is None else str(sweep_run.run.path),
        )
    return table
