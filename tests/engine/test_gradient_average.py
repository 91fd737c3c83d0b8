"""Gradients averaged over ranks (the step's gradient sync), on two real gloo processes.

One small script runs under torchrun with two ranks and writes what every
rank saw; the tests read it back.
"""

from __future__ import annotations

import json
import sys

import pytest

from helpers import run_process

pytestmark = pytest.mark.slow  # every test launches torchrun

SCRIPT = """
import json, sys
import torch
from torch import nn
from condgen.engine.distributed import GradientAverage, join
from condgen.errors import UserError

world = join()
average = GradientAverage(world, torch.device("cpu"))
rank = world.rank
out = {}

# Uneven shards of a 4-row batch: 1 row on rank 0, 3 on rank 1 (weights n * size / m).
param = nn.Parameter(torch.zeros(3))
param.grad = torch.full((3,), float(rank + 1))
unused = nn.Parameter(torch.zeros(2))  # no gradient on any rank: left alone
average.begin([0.5, 1.5][rank])
average.reduce([param, unused])
out["grad"] = param.grad.tolist()
out["unused"] = unused.grad is None

# A parameter the batch reached on rank 0 only (a head using it on some batches): rank 1 sends zeros,
# so both ranks send buckets of the same length and agree on the average.
partial = nn.Parameter(torch.zeros(2))
after = nn.Parameter(torch.zeros(1))
if rank == 0:
    partial.grad = torch.full((2,), 4.0)
after.grad = torch.full((1,), float(rank + 1))
average.begin(1.0)
average.reduce([partial, after])
out["partial"] = partial.grad.tolist()
out["after"] = after.grad.tolist()

module = nn.Module()
module.register_buffer("centres", torch.full((2,), float(rank)))
module.register_buffer("count", torch.tensor(rank))  # integers are not statistics: untouched
average.average_buffers([module])
out["centres"] = module.centres.tolist()
out["count"] = int(module.count)

average.begin(1.0)
if rank == 1:
    average.check(UserError("the loss became nan"))
try:
    average.reduce([param])
    out["failure"] = None
except UserError as error:
    out["failure"] = str(error)
with open(sys.argv[1] + f".{rank}", "w") as handle:
    json.dump(out, handle)
world.close()
"""


@pytest.fixture(scope="module")
def ranks(tmp_path_factory) -> list[dict]:
    tmp_path = tmp_path_factory.mktemp("average")
    script = tmp_path / "average.py"
    script.write_text(SCRIPT)
    done = run_process(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
         str(script), str(tmp_path / "out")],
        timeout=120, OMP_NUM_THREADS="1",
    )
    assert done.returncode == 0, done.stderr
    return [json.loads((tmp_path / f"out.{rank}").read_text()) for rank in (0, 1)]


def test_two_ranks_apply_the_global_mean_gradient_and_stop_together(ranks) -> None:
    for seen in ranks:
        # (0.5 * 1 + 1.5 * 2) / 2: the mean over all four rows, whatever the split
        assert seen["grad"] == [1.75, 1.75, 1.75]
        assert seen["unused"] is True
        assert seen["centres"] == [0.5, 0.5]
        assert "the loss became nan" in seen["failure"]
    assert ranks[0]["count"] == 0 and ranks[1]["count"] == 1
    assert ranks[0]["failure"].startswith("Rank 1 of 2")


def test_a_gradient_present_on_one_rank_only_is_averaged_with_zeros_from_the_others(ranks) -> None:
    for seen in ranks:
        assert seen["partial"] == [2.0, 2.0]  # (4 + 0) / 2
        assert seen["after"] == [1.5]  # (1 + 2) / 2: the next parameter's gradient did not shift into its place
