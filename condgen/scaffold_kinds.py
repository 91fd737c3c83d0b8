"""What ``condgen new-plugin`` writes for each component kind: one small working part and its tests.

Each template is a genuine implementation of its kind's protocol that passes
:func:`condgen.testing.check_component`, so a new plugin starts from code that
trains, not from stubs. Placeholders: ``__NAME__`` (the component name),
``__MODULE__`` (the import package), ``__CLASS__`` (the component class) and
``__RECIPE__`` (the example recipe's file name).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KindTemplate:
    """The per-kind parts of a scaffolded plugin."""

    suffix: str  # appended to the CamelCase name to make the class name
    summary: str  # one line, for pyproject's description and the README
    module: str  # condgen___NAME__/__init__.py
    test: str  # tests/test___NAME__.py
    recipe_block: str | None  # (slot, YAML flow mapping) in the example recipe; None: recipes have no slot


_SHIFT_MODULATOR_FOR_TESTS = '''

class Shift(nn.Module):
    """A real modulator, as a conditioner would hand out: adds a learned function of the condition."""

    def __init__(self, condition_dim: int, features: int) -> None:
        super().__init__()
        self.project = nn.Linear(condition_dim, features)

    def forward(self, h: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return h + self.project(condition)
'''

_RECIPE_TEST = '''

def test_the_example_recipe_validates():
    """The recipe shipped with the package names this plugin with valid options."""
    resolved = load_recipe(Path(__file__).resolve().parents[1] / "__RECIPE__")
    assert resolved.part(*SLOT).component.name == "__NAME__"
'''

ENCODER = KindTemplate(
    suffix="Encoder",
    summary="The __NAME__ encoder for condgen: q(z | x, c) as a diagonal Gaussian from a small MLP.",
    module='''"""The ``__NAME__`` encoder: q(z | x, c) as a diagonal Gaussian from a one-hidden-layer MLP.

The hidden layer is handed to the conditioner's modulator when it offers one
(FiLM and the like), so this encoder works with every conditioner.
"""

from __future__ import annotations

import math

import torch
from pydantic import Field
from torch import distributions as D
from torch import nn

import condgen

__all__ = ["__CLASS__", "__CLASS__Config"]


class __CLASS__Config(condgen.ComponentConfig):
    """The options a recipe may set in ``model.encoder``."""

    hidden: int = Field(64, gt=0, description="units of the hidden layer")
    latent_dim: int = Field(2, gt=0, description="size of z")


class __CLASS__(nn.Module):
    """joined (x, c) -> hidden -> (mu, log variance) of q(z | x, c)."""

    def __init__(self, config: __CLASS__Config, context: condgen.BuildContext) -> None:
        super().__init__()
        self.latent_dim = config.latent_dim
        self.hidden = nn.Linear(math.prod(context.input_shape), config.hidden)
        self.modulator = context.modulator(config.hidden)  # None unless the conditioner modulates
        self.out = nn.Linear(config.hidden, 2 * config.latent_dim)

    def forward(self, joined: torch.Tensor, condition: torch.Tensor) -> D.Distribution:
        h = self.hidden(joined.flatten(1))
        if self.modulator is not None:
            h = self.modulator(h, condition)
        mu, log_var = self.out(torch.relu(h)).chunk(2, dim=1)
        return D.Independent(D.Normal(mu, torch.exp(0.5 * log_var)), 1)


@condgen.hookimpl
def register_components(register):
    register("encoder", "__NAME__", __CLASS__, __CLASS__Config)
''',
    test='''"""The ``__NAME__`` encoder against condgen's plugin test kit, then its own behaviour."""

from pathlib import Path

import torch
from torch import nn

import condgen
from condgen.recipe import load_recipe
from __MODULE__ import __CLASS__, __CLASS__Config

SLOT = ("model", "encoder")


def test_passes_the_condgen_encoder_kit(condgen_check):
    report = condgen_check("encoder", "__NAME__", {"hidden": 32, "latent_dim": 3})
    assert report.loss_after < report.loss_before
'''
    + _SHIFT_MODULATOR_FOR_TESTS
    + '''

def test_gives_a_diagonal_gaussian_and_lets_the_condition_in_through_the_modulator():
    asked = []

    def modulation(features):
        asked.append(features)
        return Shift(10, features)

    context = condgen.BuildContext(input_shape=(1, 8, 8), condition_shape=(10,), modulation=modulation)
    encoder = __CLASS__(__CLASS__Config(hidden=16, latent_dim=3), context)
    x = torch.rand(1, 1, 8, 8).expand(2, 1, 8, 8)
    q = encoder(x, torch.eye(10)[:2])
    assert q.batch_shape == (2,) and q.event_shape == (3,)
    assert asked == [16]
    assert not torch.allclose(q.mean[0], q.mean[1])  # same x, different condition
'''
    + _RECIPE_TEST,
    recipe_block="encoder: {name: __NAME__, hidden: 256, latent_dim: 2}",
)

DECODER = KindTemplate(
    suffix="Decoder",
    summary="The __NAME__ decoder for condgen: p(x | z, c) as independent Bernoullis from a small MLP.",
    module='''"""The ``__NAME__`` decoder: p(x | z, c) as independent Bernoullis from a one-hidden-layer MLP.

The hidden layer is handed to the conditioner's modulator when it offers one
(FiLM and the like), so this decoder works with every conditioner.
"""

from __future__ import annotations

import math

import torch
from pydantic import Field
from torch import distributions as D
from torch import nn

import condgen

__all__ = ["__CLASS__", "__CLASS__Config"]


class __CLASS__Config(condgen.ComponentConfig):
    """The options a recipe may set in ``model.decoder``."""

    hidden: int = Field(64, gt=0, description="units of the hidden layer")


class __CLASS__(nn.Module):
    """joined (z, c) -> hidden -> one Bernoulli logit per value of x."""

    def __init__(self, config: __CLASS__Config, context: condgen.BuildContext) -> None:
        super().__init__()
        self.output_shape = tuple(context.output_shape)
        self.hidden = nn.Linear(math.prod(context.input_shape), config.hidden)
        self.modulator = context.modulator(config.hidden)  # None unless the conditioner modulates
        self.out = nn.Linear(config.hidden, math.prod(self.output_shape))

    def forward(self, joined: torch.Tensor, condition: torch.Tensor) -> D.Distribution:
        h = self.hidden(joined.flatten(1))
        if self.modulator is not None:
            h = self.modulator(h, condition)
        logits = self.out(torch.relu(h)).view(-1, *self.output_shape)
        # validate_args=False: grey values in [0, 1] are fine for this likelihood.
        return D.Independent(D.Bernoulli(logits=logits, validate_args=False), len(self.output_shape))


@condgen.hookimpl
def register_components(register):
    register("decoder", "__NAME__", __CLASS__, __CLASS__Config)
''',
    test='''"""The ``__NAME__`` decoder against condgen's plugin test kit, then its own behaviour."""

from pathlib import Path

import torch
from torch import nn

import condgen
from condgen.recipe import load_recipe
from __MODULE__ import __CLASS__, __CLASS__Config

SLOT = ("model", "decoder")


def test_passes_the_condgen_decoder_kit(condgen_check):
    report = condgen_check("decoder", "__NAME__", {"hidden": 32})
    assert report.loss_after < report.loss_before


def test_passes_the_kit_on_other_shapes(condgen_check):
    report = condgen_check("decoder", "__NAME__", x_shape=(3, 5, 5), condition_shape=(4,))
    assert report.loss_after < report.loss_before
'''
    + _SHIFT_MODULATOR_FOR_TESTS
    + '''

def test_describes_x_and_lets_the_condition_in_through_the_modulator():
    context = condgen.BuildContext(
        input_shape=(12,), output_shape=(1, 6, 6), condition_shape=(10,), modulation=lambda f: Shift(10, f)
    )
    decoder = __CLASS__(__CLASS__Config(hidden=16), context)
    joined = torch.randn(1, 12).expand(2, 12)
    p = decoder(joined, torch.eye(10)[:2])
    assert p.batch_shape == (2,) and p.event_shape == (1, 6, 6)
    assert p.log_prob(torch.rand(2, 1, 6, 6)).shape == (2,)
    assert not torch.allclose(p.mean[0], p.mean[1])  # same input, different condition
'''
    + _RECIPE_TEST,
    recipe_block="decoder: {name: __NAME__, hidden: 256}",
)

CONDITIONER = KindTemplate(
    suffix="Conditioner",
    summary="The __NAME__ conditioner for condgen: a learned condition embedding, appended and shifting hidden layers.",
    module='''"""The ``__NAME__`` conditioner: a learned embedding of the condition, appended to x and z.

With ``modulate`` on, it also hands each network a modulator per hidden layer
that adds a learned function of the condition (``h -> h + W c``), starting as
the identity; networks that ask their ``BuildContext`` for modulators apply it.
"""

from __future__ import annotations

import math

import torch
from pydantic import Field
from torch import nn

import condgen

__all__ = ["__CLASS__", "__CLASS__Config", "__CLASS__Shift"]


class __CLASS__Config(condgen.ComponentConfig):
    """The options a recipe may set in ``model.conditioner``."""

    embed_dim: int = Field(16, gt=0, description="size of the condition embedding appended to x and to z")
    modulate: bool = Field(True, description="also shift every hidden layer by a learned function of the condition")


class __CLASS__Shift(nn.Module):
    """``h + W c`` for one hidden layer; acts on dimension 1, so units and channels alike."""

    def __init__(self, condition_dim: int, features: int) -> None:
        super().__init__()
        self.project = nn.Linear(condition_dim, features)
        nn.init.zeros_(self.project.weight)  # the identity at step 0: training starts from the plain network
        nn.init.zeros_(self.project.bias)

    def forward(self, h: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        shift = self.project(condition.flatten(1))
        return h + shift.view(shift.shape + (1,) * (h.dim() - 2))


class __CLASS__(nn.Module):
    """Appends tanh(E c) to the flattened x (encoder) and z (decoder)."""

    def __init__(self, config: __CLASS__Config, context: condgen.BuildContext) -> None:
        super().__init__()
        self.config = config
        self.condition_dim = math.prod(context.condition_shape)
        self.embed = nn.Linear(self.condition_dim, config.embed_dim)

    def encoder_input_shape(self, x_shape: tuple[int, ...], condition_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (math.prod(x_shape) + self.config.embed_dim,)

    def decoder_input_shape(self, latent_dim: int, condition_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (latent_dim + self.config.embed_dim,)

    def encoder_input(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.flatten(1), self._embedded(condition)], dim=1)

    def decoder_input(self, z: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return torch.cat([z.flatten(1), self._embedded(condition)], dim=1)

    def modulator(self, role: str, features: int) -> nn.Module | None:
        """Called by condgen for each hidden layer of the encoder and decoder (``role``)."""
        return __CLASS__Shift(self.condition_dim, features) if self.config.modulate else None

    def _embedded(self, condition: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.embed(condition.flatten(1)))


@condgen.hookimpl
def register_components(register):
    register("conditioner", "__NAME__", __CLASS__, __CLASS__Config)
''',
    test='''"""The ``__NAME__`` conditioner against condgen's plugin test kit, then its own behaviour."""

from pathlib import Path

import torch

import condgen
from condgen.recipe import load_recipe
from __MODULE__ import __CLASS__, __CLASS__Config, __CLASS__Shift

SLOT = ("model", "conditioner")


def test_passes_the_condgen_conditioner_kit(condgen_check):
    report = condgen_check("conditioner", "__NAME__")
    assert report.loss_after < report.loss_before


def test_passes_the_kit_without_modulation(condgen_check):
    report = condgen_check("conditioner", "__NAME__", {"embed_dim": 4, "modulate": False})
    assert report.loss_after < report.loss_before


def test_joins_the_embedding_and_shifts_channels():
    conditioner = __CLASS__(__CLASS__Config(embed_dim=5), condgen.BuildContext(condition_shape=(10,)))
    joined = conditioner.encoder_input(torch.rand(3, 1, 4, 4), torch.eye(10)[:3])
    assert joined.shape == (3, 16 + 5) == (3, *conditioner.encoder_input_shape((1, 4, 4), (10,)))
    shift = conditioner.modulator("encoder", 8)
    h = torch.randn(3, 8, 2, 2)
    assert torch.equal(shift(h, torch.eye(10)[:3]), h)  # the identity at step 0
    with torch.no_grad():
        shift.project.bias.fill_(1.0)
    assert torch.allclose(shift(h, torch.eye(10)[:3]), h + 1)
    assert isinstance(shift, __CLASS__Shift)
'''
    + _RECIPE_TEST,
    recipe_block="conditioner: {name: __NAME__, embed_dim: 16}",
)

PRIOR = KindTemplate(
    suffix="Prior",
    summary="The __NAME__ prior for condgen: a learned conditional Gaussian p(z | c).",
    module='''"""The ``__NAME__`` prior: p(z | c) = N(mu(c), diag sigma(c)^2), linear in the condition.

It starts as the standard normal (zero-initialised), so training begins from
the seed model and the prior moves each condition's latents where they help.
"""

from __future__ import annotations

import math

import torch
from pydantic import Field
from torch import distributions as D
from torch import nn

import condgen

__all__ = ["__CLASS__", "__CLASS__Config"]


class __CLASS__Config(condgen.ComponentConfig):
    """The options a recipe may set in ``model.prior``."""

    learn_scale: bool = Field(True, description="learn the standard deviation per condition, not only the mean")


class __CLASS__(nn.Module):
    """condition -> (mu, log variance) of p(z | c)."""

    def __init__(self, config: __CLASS__Config, context: condgen.BuildContext) -> None:
        super().__init__()
        self.latent_dim = context.latent_dim
        self.learn_scale = config.learn_scale
        self.net = nn.Linear(math.prod(context.condition_shape), 2 * self.latent_dim)
        nn.init.zeros_(self.net.weight)
        nn.init.zeros_(self.net.bias)

    def forward(self, condition: torch.Tensor) -> D.Distribution:
        mu, log_var = self.net(condition.flatten(1)).chunk(2, dim=1)
        if not self.learn_scale:
            log_var = torch.zeros_like(log_var)
        return D.Independent(D.Normal(mu, torch.exp(0.5 * log_var)), 1)


@condgen.hookimpl
def register_components(register):
    register("prior", "__NAME__", __CLASS__, __CLASS__Config)
''',
    test='''"""The ``__NAME__`` prior against condgen's plugin test kit, then its own behaviour."""

from pathlib import Path

import torch

import condgen
from condgen.recipe import load_recipe
from __MODULE__ import __CLASS__, __CLASS__Config

SLOT = ("model", "prior")


def test_passes_the_condgen_prior_kit(condgen_check):
    report = condgen_check("prior", "__NAME__")
    assert report.loss_after < report.loss_before


def test_passes_the_kit_with_a_fixed_scale(condgen_check):
    report = condgen_check("prior", "__NAME__", {"learn_scale": False})
    assert report.loss_after < report.loss_before


def test_starts_standard_normal_and_learns_a_mean_per_condition():
    context = condgen.BuildContext(condition_shape=(10,), latent_dim=2)
    prior = __CLASS__(__CLASS__Config(learn_scale=False), context)
    condition = torch.eye(10)[:4]
    p = prior(condition)
    assert p.batch_shape == (4,) and p.event_shape == (2,)
    assert torch.equal(p.mean, torch.zeros(4, 2)) and torch.equal(p.stddev, torch.ones(4, 2))
    target = torch.arange(8.0).view(4, 2)  # where each condition's latents sit
    optimizer = torch.optim.Adam(prior.parameters(), lr=0.1)
    for _ in range(200):
        loss = -prior(condition).log_prob(target).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert torch.allclose(prior(condition).mean, target, atol=0.3)
'''
    + _RECIPE_TEST,
    recipe_block="prior: {name: __NAME__, learn_scale: true}",
)

HEAD = KindTemplate(
    suffix="Head",
    summary="The __NAME__ head for condgen: an auxiliary network that predicts the condition from x.",
    module='''"""The ``__NAME__`` head: an auxiliary network that predicts the condition from x.

A head owns its network, its optimiser and its losses. Each training step it
learns from real images (``head_losses``), and it asks the generator to make
reconstructions and prior samples whose condition it can recover
(``model_losses``): a simple conditional-consistency term.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

import condgen

__all__ = ["__CLASS__", "__CLASS__Config"]


class __CLASS__Config(condgen.ComponentConfig):
    """The options of this head."""

    hidden: int = Field(32, gt=0, description="units of the hidden layer")
    weight: float = Field(1.0, ge=0, description="weight of the consistency term in the decoder's loss")
    optimizer: condgen.OptimizerConfig = Field(default_factory=condgen.OptimizerConfig)


class __CLASS__(nn.Module):
    """x -> hidden -> a prediction of the condition, trained with squared error."""

    def __init__(self, config: __CLASS__Config, context: condgen.BuildContext) -> None:
        super().__init__()
        self.config = config
        self.condition_shape = tuple(context.condition_shape)
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(math.prod(context.x_shape), config.hidden),
            nn.ReLU(),
            nn.Linear(config.hidden, math.prod(self.condition_shape)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1, *self.condition_shape)

    def loss(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(self(x), condition)

    def optimizer(self) -> torch.optim.Optimizer:
        return condgen.make_optimizer(self.parameters(), self.config.optimizer)

    def head_losses(self, step: condgen.TrainingStep) -> dict[str, torch.Tensor]:
        return {"loss": self.loss(step.x, step.condition)}

    def model_losses(self, step: condgen.TrainingStep) -> list[condgen.ModelLoss]:
        term = self.config.weight * self.loss(step.x_p, step.condition)
        return [condgen.ModelLoss("__NAME___consistency", term, frozenset({"decoder"}))]


@condgen.hookimpl
def register_components(register):
    register("head", "__NAME__", __CLASS__, __CLASS__Config)
''',
    test='''"""The ``__NAME__`` head against condgen's plugin test kit, then its own behaviour."""

import torch

import condgen
from condgen.testing import reference_data
from __MODULE__ import __CLASS__, __CLASS__Config


def test_passes_the_condgen_head_kit(condgen_check):
    report = condgen_check("head", "__NAME__", {"hidden": 8})
    assert "satisfies the head protocol" in report.passed
    assert report.loss_after < report.loss_before


def test_learns_to_predict_the_condition():
    x, condition = reference_data((1, 8, 8), (10,), 100)
    head = __CLASS__(__CLASS__Config(), condgen.BuildContext(x_shape=(1, 8, 8), condition_shape=(10,)))
    assert head(x).shape == condition.shape
    before = head.loss(x, condition).item()
    optimizer = torch.optim.Adam(head.parameters(), lr=1e-2)
    for _ in range(100):
        loss = head.loss(x, condition)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert head.loss(x, condition).item() < before / 4
''',
    recipe_block="heads: {__NAME__: {name: __NAME__}}",
)

DATASET = KindTemplate(
    suffix="Dataset",
    summary="The __NAME__ dataset for condgen: small synthetic labelled images, generated in memory.",
    module='''"""The ``__NAME__`` dataset: synthetic "bar" images of 10 classes, generated in memory.

Class k lights up one horizontal bar (its row depends on k) over uniform
noise; the condition is the one-hot label. Deterministic for a given seed, no
downloads, and quick to learn: a stand-in to develop models with, and a
template for a real dataset plugin (shapes are known before any data is read).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field

import condgen

__all__ = ["__CLASS__", "__CLASS__Config"]

NUM_CLASSES = 10


class __CLASS__Config(condgen.ComponentConfig):
    """The options a recipe may set in ``data``."""

    image_size: int = Field(12, ge=NUM_CLASSES, description="height and width of the square images")
    train_size: int = Field(1000, gt=0, description="examples in the train split")
    test_size: int = Field(200, gt=0, description="examples in the test split")
    noise: float = Field(0.2, ge=0, le=1, description="amplitude of the uniform background noise")
    seed: int = Field(0, ge=0, description="the same seed always gives the same data")


class __CLASS__:
    """A labelled dataset: ``condgen sample --label K`` works with it."""

    num_classes = NUM_CLASSES
    condition_shape = (NUM_CLASSES,)

    def __init__(self, config: __CLASS__Config, context: condgen.BuildContext | None = None) -> None:
        self.config = config
        self.x_shape = (1, config.image_size, config.image_size)
        self._splits: dict[str, condgen.TensorSplit] = {}

    def load(self, split: str) -> condgen.TensorSplit:
        if split not in ("train", "test"):
            raise ValueError(f"unknown split {split!r}")
        if split not in self._splits:
            size = self.config.train_size if split == "train" else self.config.test_size
            self._splits[split] = self._generate(size, self.config.seed * 2 + (split == "test"))
        return self._splits[split]

    def conditions_for_labels(self, labels: torch.Tensor) -> torch.Tensor:
        if labels.numel() and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
            raise condgen.UserError(f"__NAME__ labels are 0-{NUM_CLASSES - 1}, got {labels.tolist()}.")
        return F.one_hot(labels.long(), NUM_CLASSES).to(torch.float32)

    def preview_conditions(self, per_row: int) -> torch.Tensor:
        return self.conditions_for_labels(torch.arange(NUM_CLASSES).repeat_interleave(per_row))

    def _generate(self, size: int, seed: int) -> condgen.TensorSplit:
        generator = torch.Generator().manual_seed(seed)
        labels = torch.randint(NUM_CLASSES, (size,), generator=generator)
        x = torch.rand(size, *self.x_shape, generator=generator) * self.config.noise
        rows = bar_rows(labels, self.config.image_size)
        x[torch.arange(size), 0, rows, :] = 1.0
        return condgen.TensorSplit(x, self.conditions_for_labels(labels), labels=labels)


def bar_rows(labels: torch.Tensor, image_size: int) -> torch.Tensor:
    """The row each class lights up: spread evenly over the image."""
    return labels * image_size // NUM_CLASSES


@condgen.hookimpl
def register_components(register):
    register("dataset", "__NAME__", __CLASS__, __CLASS__Config)
''',
    test='''"""The ``__NAME__`` dataset against condgen's plugin test kit, then its own behaviour."""

from pathlib import Path

import torch

import condgen
from condgen.recipe import load_recipe
from __MODULE__ import __CLASS__, __CLASS__Config, bar_rows

SLOT = ("data",)


def test_passes_the_condgen_dataset_kit(condgen_check):
    report = condgen_check("dataset", "__NAME__", {"train_size": 200, "test_size": 50})
    assert report.loss_after < report.loss_before


def test_is_deterministic_and_each_class_lights_its_own_bar():
    config = __CLASS__Config(train_size=50, image_size=10)
    first = __CLASS__(config).load("train")
    again = __CLASS__(config).load("train")
    assert torch.equal(first.x, again.x) and torch.equal(first.labels, again.labels)
    assert not torch.equal(__CLASS__(config).load("test").x[:10], first.x[:10])
    x, condition = first.batch(torch.arange(50))
    assert x.shape == (50, 1, 10, 10) and condition.shape == (50, 10)
    lit = x[:, 0].mean(dim=2).argmax(dim=1)  # the brightest row of each image
    assert torch.equal(lit, bar_rows(condition.argmax(dim=1), 10))


def test_rejects_labels_out_of_range():
    dataset = __CLASS__(__CLASS__Config())
    assert dataset.conditions_for_labels(torch.tensor([0, 9])).shape == (2, 10)
    try:
        dataset.conditions_for_labels(torch.tensor([10]))
    except condgen.UserError as error:
        assert "0-9" in str(error)
    else:
        raise AssertionError("label 10 was accepted")
'''
    + _RECIPE_TEST,
    recipe_block="data: {name: __NAME__, train_size: 2000}",
)

LOGGER = KindTemplate(
    suffix="Logger",
    summary="The __NAME__ logger for condgen: each epoch's numbers as a row of a CSV file in the run folder.",
    module='''"""The ``__NAME__`` logger: each epoch's numbers as a row of a CSV file in the run folder.

A logger receives the run (``start``), one row of numbers per epoch
(``log_metrics``), the epoch's sample grid (``log_images``) and the run's end
(``finish``). If it raises, condgen warns once and the run goes on without it.
"""

from __future__ import annotations

import csv

import torch
from pydantic import Field

import condgen

__all__ = ["__CLASS__", "__CLASS__Config"]


class __CLASS__Config(condgen.ComponentConfig):
    """The options a recipe may set in its ``loggers`` entry."""

    file: str = Field("metrics.csv", min_length=1, max_length=200, description="CSV file in the run folder")


class __CLASS__:
    """Appends one CSV row per epoch; the header is the first row's keys."""

    def __init__(self, config: __CLASS__Config, context: condgen.BuildContext) -> None:
        self.config = config
        self.path = None
        self.columns: list[str] | None = None

    def start(self, run: condgen.RunInfo) -> None:
        self.path = run.path / self.config.file

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        new = not self.path.exists()
        if self.columns is None:
            self.columns = ["step", *metrics]
        with self.path.open("a", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=self.columns, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow({"step": step, **metrics})

    def log_images(self, tag: str, images: torch.Tensor, step: int) -> None:
        """A CSV holds no images: the run folder's samples/ has them."""

    def finish(self, status: str) -> None:
        pass


@condgen.hookimpl
def register_components(register):
    register("logger", "__NAME__", __CLASS__, __CLASS__Config)
''',
    test='''"""The ``__NAME__`` logger against condgen's plugin test kit, then its own behaviour."""

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
'''
    + _RECIPE_TEST,
    recipe_block="loggers: [{name: __NAME__}]",
)

TEMPLATES: dict[str, KindTemplate] = {
    "dataset": DATASET,
    "conditioner": CONDITIONER,
    "encoder": ENCODER,
    "decoder": DECODER,
    "prior": PRIOR,
    "head": HEAD,
    "logger": LOGGER,
}
