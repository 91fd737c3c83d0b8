"""CVAE-GAN training throughput: condgen's multi-optimiser engine vs. a hand-written loop, in one process.

Both train the same four networks (the recipe's encoder E, generator G,
classifier C and discriminator D, built once from recipes/mnist_cvae_gan.yaml)
with the same update order C -> D -> E -> G on the same tensor-resident MNIST
batches. The bare loop is what a user would write by hand: one forward pass,
each head stepped on detached images, then E's and G's gradients taken
together with ``torch.autograd.grad`` so neither moves the heads. Run::

    CONDGEN_DATA_DIR=../shared/data python benchmarks/cvae_gan.py [--images 6400] [--rounds 2]

The last line is ``condgen/bare: R`` (median over rounds); the bare loop is eager, in float32.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from rich.console import Console
from rich.table import Table

from condgen.engine.progress import SilentReporter
from condgen.engine.run_dir import create_run_dir
from condgen.engine.trainer import Trainer, build_parts
from condgen.compose import build_model
from condgen.recipe import load_recipe
from throughput import full_run_compile, full_run_precision

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "recipes" / "mnist_cvae_gan.yaml"


def bare_loop(overrides: list[str], images: int, seed: int) -> float:
    """The CVAE-GAN step written out by hand on the recipe's own networks; returns seconds."""
    resolved = load_recipe(RECIPE, overrides)
    torch.manual_seed(seed)
    composed = build_model(resolved)
    model, heads = composed.model, composed.heads
    C, D = heads["classifier"], heads["discriminator"]
    settings = resolved.recipe.trainer
    split = composed.dataset.load("train")
    decoder_ids = {id(p) for p in model.decoder.parameters()}
    e_params = [p for p in model.parameters() if id(p) not in decoder_ids]
    g_params = list(model.decoder.parameters())
    adam = dict(lr=settings.optimizer.lr, betas=settings.optimizer.betas)
    opt_e, opt_g = torch.optim.Adam(e_params, **adam), torch.optim.Adam(g_params, **adam)
    opt_c, opt_d = C.optimizer(), D.optimizer()
    lam = C.config
    batch = settings.batch_size
    order = torch.randperm(len(split))
    started = time.perf_counter()
    for start in range(0, images, batch):
        x, c = split.batch(order[start : start + batch])
        # one forward pass of the CVAE
        q = model.posterior(x, c)
        z = q.rsample()
        p_x = model.likelihood(z, c)
        x_f = p_x.mean
        recon = -p_x.log_prob(x).mean()
        kl = torch.distributions.kl_divergence(q, model.prior_for(c)).mean()
        z_p = torch.randn_like(z)
        x_p = model.likelihood(z_p, c).mean
        # C on real images
        features, logits = C.net(x)
        loss_c = -(c * F.log_softmax(logits, 1)).sum(1).mean()
        opt_c.zero_grad(set_to_none=True)
        loss_c.backward()
        opt_c.step()
        # D on real vs detached generated images
        n = len(x)
        _, d_logits = D.net(torch.cat([x, x_f.detach(), x_p.detach()]))
        loss_d = F.binary_cross_entropy_with_logits(d_logits[:n], torch.ones_like(d_logits[:n])) + 2 * (
            F.binary_cross_entropy_with_logits(d_logits[n:], torch.zeros_like(d_logits[n:]))
        )
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        # E and G through the updated heads' features
        fc_real, _ = C.net(x)
        fc_fake, _ = C.net(x_f)
        fc_prior, _ = C.net(x_p)
        fd = D.net(torch.cat([x, x_f, x_p]))[0]
        fd_real, fd_fake, fd_prior = fd[:n], fd[n : 2 * n], fd[2 * n :]
        pair = 0.5 * (fc_real.detach() - fc_fake).pow(2).sum(1).mean() + 0.5 * (fd_real.detach() - fd_fake).pow(2).sum(1).mean()
        centres = (c.T @ fc_real.detach()) / c.sum(0).clamp_min(1)[:, None]
        prior_means = (c.T @ fc_prior) / c.sum(0).clamp_min(1)[:, None]
        mean_c = 0.5 * (centres - prior_means).pow(2).sum(1).mean()
        mean_d = 0.5 * (fd_real.detach().mean(0) - fd_prior.mean(0)).pow(2).sum()
        loss_e = settings.kl_weight * kl + recon + lam.lambda_pairwise * pair
        loss_g = recon + lam.lambda_pairwise * pair + lam.lambda_mean * (mean_c + mean_d)
        grads_e = torch.autograd.grad(loss_e, e_params, retain_graph=True, allow_unused=True)
        grads_g = torch.autograd.grad(loss_g, g_params)
        for p, g in zip(e_params, grads_e):
            p.grad = g
        for p, g in zip(g_params, grads_g):
            p.grad = g
        opt_e.step()
        opt_g.step()
    return time.perf_counter() - started


def condgen_loop(overrides: list[str], images: int, out: Path) -> float:
    """condgen's trainer on the same recipe for one epoch of ``images`` examples; returns its train-loop seconds."""
    resolved = load_recipe(RECIPE, [*overrides, f"data.limit={images}", "trainer.epochs=1", f"output.dir={out}"])
    trainer = Trainer(build_parts(resolved), create_run_dir(out, resolved.recipe.name), SilentReporter())
    history = trainer.fit()
    return history[-1]["train_seconds"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=6400, help="training images per measurement")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                        help="a recipe override for condgen's trainer (e.g. trainer.compile=on); repeatable")
    args = parser.parse_args(argv)
    overrides = [*args.settings, full_run_compile(RECIPE, args.settings)]
    rows: dict[str, list[float]] = {"condgen": [], "bare loop": []}
    bare_loop([], 640, 0)  # warm-up
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            rows["condgen"].append(args.images / condgen_loop(overrides, args.images, Path(tmp) / str(round_)))
            rows["bare loop"].append(args.images / bare_loop([], args.images, round_))
    median = {name: statistics.median(values) for name, values in rows.items()}
    table = Table(title=f"CVAE-GAN (E, G, C, D; order C->D->E->G), {args.images} images, {torch.get_num_threads()} threads")
    table.add_column("trainer")
    table.add_column("images/s (median)", justify="right")
    table.add_column("per round", justify="right")
    for name, value in median.items():
        table.add_row(name, f"{value:,.0f}", ", ".join(f"{v:,.0f}" for v in rows[name]))
    Console().print(table)
    print(f"condgen with {overrides[-1]}, {full_run_precision(RECIPE, args.settings)}")
    print(f"condgen/bare: {median['condgen'] / median['bare loop']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
