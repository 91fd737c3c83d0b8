"""The ``__NAME__`` logger against condgen's plugin test kit, then its own behaviour."""

import csv
from pathlib import Path

import condgen
from condgen.recipe import load_recipe
from __MODULE__ import __CLASS__, __CLASS__Config

SLOT = ("loggers", 0)


def test_passes_the_condgen_logger_kit(condgen_check):
    report = condgen_check("logger", "__NAME__")
    assert "satisfies the logger protocol" in report.passed


def test_writes_one_row_per_epoch(tmp_path):
    logger = __CLASS__(__CLASS__Config(), condgen.BuildContext())
    logger.start(condgen.RunInfo(tmp_path, "run", {}))
    logger.log_metrics({"epoch": 1, "test_elbo": 120.5}, 10)
    logger.log_metrics({"epoch": 2, "test_elbo": 110.0}, 20)
    logger.finish("finished")
    with (tmp_path / "metrics.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert [(row["step"], row["test_elbo"]) for row in rows] == [("10", "120.5"), ("20", "110.0")]


# include: recipe_test.py
