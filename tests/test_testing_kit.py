"""condgen.testing, the plugin authors' kit: the built-ins pass it, broken plugins are named by it,
and pytest finds its ``condgen_check`` fixture through condgen's ``pytest11`` entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from condgen import BlockKind
from condgen.plugins import BUILTIN_DISTRIBUTION, load_plugins
from condgen.registry import KINDS, Component
from condgen.testing import ProtocolViolation, check_component

pytest_plugins = ["pytester"]

BUILTINS = [c for c in load_plugins().registry.components() if c.source.distribution == BUILTIN_DISTRIBUTION]


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models: one thread each is faster than two fighting the other test processes for the cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def small_options(component: Component, data_root: Path, image_root: Path | None = None) -> dict[str, Any]:
    """Options that keep any built-in small and offline, chosen by its config fields, not by its name."""
    fields = component.config.model_fields
    options: dict[str, Any] = {}
    if "hidden" in fields:
        options["hidden"] = [16] if isinstance(fields["hidden"].get_default(call_default_factory=True), list) else 16
    if "root" in fields:
        options["root"] = str(data_root)
    if "root" in fields and "mode" in fields and image_root is not None:  # a folder of image files
        options.update(root=str(image_root), size=[28, 28], mode="L")
    if "download" in fields:
        options["download"] = False
    if "emnist_split" in fields:  # torchvision's datasets: FashionMNIST has MNIST's file layout, so the tiny files serve
        (data_root / "FashionMNIST").mkdir(exist_ok=True)
        if not (data_root / "FashionMNIST" / "raw").exists():
            (data_root / "FashionMNIST" / "raw").symlink_to(data_root / "MNIST" / "raw")
        options["dataset"] = "FashionMNIST"
    if "channels" in fields:
        options["channels"] = [8, 8]
    for name, info in fields.items():  # a wrapper's nested dataset block (condgen.BlockKind): the tiny MNIST
        if any(isinstance(item, BlockKind) and item.kind == "dataset" for item in info.metadata):
            options[name] = {"name": "mnist", "root": str(data_root), "download": False}
    return options


# Built-ins that need a particular partner, as a recipe using them would say.
PARTNERS = {
    ("encoder", "conv"): {"conditioner": ("concat", {"layout": "channels"})},
    # captions are code points: a text conditioner reads them, raw concatenation would feed the networks values ~100
    ("dataset", "captions"): {"conditioner": ("text", {"encoder": {"name": "gru", "dim": 8, "embedding": 8, "hidden": 8}})},
}


#: heads that only add terms to the model's objective (a fixed measurement): no loss of their own to lower
NOTHING_TO_LEARN = {("head", "attribute_consistency")}


def test_the_builtins_cover_every_model_kind() -> None:
    """Guards the enumeration below: an empty or partial registry would make it pass vacuously."""
    assert {c.kind for c in BUILTINS} >= {"dataset", "conditioner", "encoder", "decoder", "prior"}


@pytest.mark.parametrize("component", BUILTINS, ids=lambda c: f"{c.kind}-{c.name}")
def test_every_builtin_passes_the_kit(component: Component, tiny_mnist: Path, tiny_image_folder: Path) -> None:
    report = check_component(
        component.kind,
        component.name,
        small_options(component, tiny_mnist, tiny_image_folder),
        partners=PARTNERS.get((component.kind, component.name)),
    )
    if component.kind == "logger":  # no loss: driven through a short run instead
        assert "start, log_metrics, log_images and finish run through a two-epoch run" in report.passed
    elif (component.kind, component.name) in NOTHING_TO_LEARN:
        assert "has no parameters and no update of its own" in report.passed
    else:
        assert report.loss_after < report.loss_before
    assert "config round-trips through JSON" in report.passed


BROKEN = '''
import math

import torch
from pydantic import field_validator
from torch import distributions as D
from torch import nn

import condgen


class Config(condgen.ComponentConfig):
    pass


class FlatDecoder(nn.Module):
    """Describes x as a flat vector: the wrong event shape for images."""

    def __init__(self, config, context):
        super().__init__()
        self.output_shape = tuple(context.output_shape)
        self.size = math.prod(context.output_shape)
        self.net = nn.Linear(math.prod(context.input_shape), self.size)

    def forward(self, joined, condition):
        return D.Independent(D.Bernoulli(logits=self.net(joined), validate_args=False), 1)


class TensorEncoder(nn.Module):
    """Returns the mean itself instead of q(z | x, c)."""

    latent_dim = 2

    def __init__(self, config, context):
        super().__init__()
        self.net = nn.Linear(math.prod(context.input_shape), 2)

    def forward(self, joined, condition):
        return self.net(joined.flatten(1))


class DoublingConfig(condgen.ComponentConfig):
    """A validator that is not idempotent: every load of a saved recipe doubles the width."""

    width: int = 4

    @field_validator("width")
    @classmethod
    def _double(cls, value):
        return 2 * value


class LooseConfig(condgen.ComponentConfig):
    """Holds a tensor, which no recipe file can store."""

    model_config = {"arbitrary_types_allowed": True, "extra": "forbid"}
    scale: torch.Tensor = torch.ones(2)


class Prior(nn.Module):
    def __init__(self, config, context):
        super().__init__()
        self.latent_dim = context.latent_dim

    def forward(self, condition):
        loc = condition.new_zeros(condition.shape[0], self.latent_dim)
        return D.Independent(D.Normal(loc, torch.ones_like(loc)), 1)


class Forgotten(nn.Module):
    """A head with weights but no optimiser: nothing would ever train them."""

    def __init__(self, config, context):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def optimizer(self):
        return None

    def head_losses(self, step):
        return {}

    def model_losses(self, step):
        return [condgen.ModelLoss("scaled", self.scale * step.x_p.mean(), frozenset({"decoder"}))]


@condgen.hookimpl
def register_components(register):
    register("head", "forgotten", Forgotten, Config)
    register("decoder", "flat", FlatDecoder, Config)
    register("encoder", "tensor", TensorEncoder, Config)
    register("prior", "doubling", Prior, DoublingConfig)
    register("prior", "loose", Prior, LooseConfig)
'''


@pytest.mark.parametrize(
    "kind, name, problem",
    [
        ("decoder", "flat", "returned p(x|z,c) with batch shape (32,) and event shape (784,); expected batch shape (32,) and event shape (1, 28, 28)"),
        ("encoder", "tensor", "returned q(z|x,c) with a Tensor, not a torch.distributions.Distribution"),
        ("prior", "doubling", "its config changes in a JSON round-trip"),
        ("prior", "loose", "its config does not round-trip through JSON"),
        ("head", "forgotten", "optimizer() is None, but the head has parameters that nothing would train"),
    ],
)
def test_a_broken_third_party_component_is_named_with_its_module_distribution_and_problem(
    make_distribution, kind: str, name: str, problem: str
) -> None:
    make_distribution("cg-broken", "cg_broken", BROKEN, version="0.3")
    with pytest.raises(ProtocolViolation) as raised:
        check_component(kind, name, {})
    message = str(raised.value)
    assert f"{kind} {name!r} (module cg_broken, distribution cg-broken 0.3) breaks the {kind} protocol" in message
    assert problem in message


def test_a_violation_is_a_user_error_the_cli_would_print_without_traceback(make_distribution) -> None:
    from condgen.errors import UserError

    make_distribution("cg-broken", "cg_broken", BROKEN, version="0.3")
    with pytest.raises(UserError):
        check_component("encoder", "tensor")


@pytest.mark.parametrize(
    "name, claimed", [("mnist", ["LabelledDataset", "MetricDataset"]), ("inpainting", ["MaskedDataset"])]
)
def test_a_builtin_dataset_is_checked_against_the_optional_protocols_it_claims(
    name: str, claimed: list[str], tiny_mnist: Path
) -> None:
    options = small_options(load_plugins().registry.get("dataset", name), tiny_mnist)
    passed = check_component("dataset", name, options).passed
    protocols = ("LabelledDataset", "MetricDataset", "MaskedDataset")
    assert [p for p in protocols if any(p in line for line in passed)] == claimed


@pytest.mark.slow
def test_a_masked_dataset_is_trained_on_its_likelihood_mask_as_a_recipe_would(tiny_mnist: Path) -> None:
    options = small_options(load_plugins().registry.get("dataset", "inpainting"), tiny_mnist)
    masked = check_component("dataset", "inpainting", {**options, "likelihood": "unobserved"})
    whole = check_component("dataset", "inpainting", {**options, "likelihood": "all"})
    # one observed quadrant: scoring the other three costs fewer nats than scoring all four
    assert masked.loss_before < 0.9 * whole.loss_before


DATASETS = '''
import torch
import torch.nn.functional as F

import condgen


class Config(condgen.ComponentConfig):
    pass


class Squares:
    """Random 4x4 images; the condition is x with its bottom half zeroed, then the mask (1 = observed)."""

    x_shape = (1, 4, 4)
    condition_shape = (2, 4, 4)

    def __init__(self, config, context):
        self.x = torch.rand(64, 1, 4, 4, generator=torch.Generator().manual_seed(0))
        self.top = torch.zeros(1, 1, 4, 4, dtype=torch.bool)
        self.top[..., :2, :] = True

    def load(self, split):
        return condgen.TensorSplit(self.x, self.condition_for(self.x, self.top))

    def preview_conditions(self, per_row):
        return self.condition_for(self.x[:2], self.top).repeat_interleave(per_row, 0)

    def condition_for(self, x, observed):
        observed = observed.expand(len(x), 1, 4, 4)
        return torch.cat([torch.where(observed, x, 0.0), observed.float()], 1)

    def observed_mask(self, condition):
        return condition[:, 1:] > 0.5

    def paste(self, x, condition):
        return torch.where(self.observed_mask(condition), condition[:, :1], x)

    def likelihood_mask(self, condition):
        return ~self.observed_mask(condition)


class KeepsX(Squares):
    """paste ignores the condition: what the model generates loses the revealed pixels."""

    def paste(self, x, condition):
        return x


class Labelled:
    """Random 4x4 images of 3 classes, conditioned on the one-hot label."""

    x_shape = (1, 4, 4)
    condition_shape = (3,)
    num_classes = 3

    def __init__(self, config, context):
        self.x = torch.rand(60, 1, 4, 4, generator=torch.Generator().manual_seed(0))
        self.conditions = F.one_hot(torch.arange(60) % 3, 3).float()

    def load(self, split):
        return condgen.TensorSplit(self.x, self.conditions)

    def preview_conditions(self, per_row):
        return self.conditions[:3].repeat_interleave(per_row, 0)

    def conditions_for_labels(self, labels):
        return F.one_hot(labels, 3).float()


class FlatLabels(Labelled):
    """conditions_for_labels forgets the one-hot encoding: one number per label."""

    def conditions_for_labels(self, labels):
        return labels.float()


@condgen.hookimpl
def register_components(register):
    for name, dataset in [("squares", Squares), ("keeps_x", KeepsX), ("labelled", Labelled), ("flat", FlatLabels)]:
        register("dataset", name, dataset, Config)
'''


def test_well_formed_third_party_masked_and_labelled_datasets_pass(make_distribution) -> None:
    make_distribution("cg-datasets", "cg_datasets", DATASETS)
    assert any("MaskedDataset" in line for line in check_component("dataset", "squares").passed)
    assert any("LabelledDataset" in line for line in check_component("dataset", "labelled").passed)


@pytest.mark.parametrize(
    "name, problem",
    [
        ("keeps_x", "paste(1 - x, condition) must give the revealed x where observed_mask is true and 1 - x elsewhere"),
        ("flat", "conditions_for_labels(torch.arange(3)) has shape (3,), expected (3, 3)"),
    ],
)
def test_a_third_party_dataset_that_breaks_an_optional_protocol_it_claims_is_refused(
    make_distribution, name: str, problem: str
) -> None:
    make_distribution("cg-datasets", "cg_datasets", DATASETS, version="0.2")
    with pytest.raises(ProtocolViolation) as raised:
        check_component("dataset", name)
    message = str(raised.value)
    assert f"dataset {name!r} (module cg_datasets, distribution cg-datasets 0.2) breaks the dataset protocol" in message
    assert problem in message


INNER_TESTS = """
import pytest
from condgen.testing import ProtocolViolation


def test_a_builtin_passes(condgen_check):
    report = condgen_check("prior", "standard_normal")
    assert report.loss_after < report.loss_before


def test_bad_options_are_a_violation(condgen_check):
    with pytest.raises(ProtocolViolation, match="its config model rejects"):
        condgen_check("encoder", "mlp", {"latent_dim": 0})
"""


def test_condgen_check_comes_from_the_pytest11_entry_point(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=INNER_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    # Switched off by its entry-point name, the fixture is gone: it came from that entry point.
    without = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:condgen")
    without.assert_outcomes(errors=2)
    without.stdout.fnmatch_lines(["*fixture 'condgen_check' not found*"])


def test_every_kind_has_a_protocol_in_the_kit() -> None:
    from condgen.testing import PROTOCOLS

    assert set(PROTOCOLS) == set(KINDS)


@pytest.mark.parametrize("kind", ["decoder", "prior"])
def test_a_module_without_its_kinds_members_does_not_satisfy_the_protocol(kind: str) -> None:
    from condgen.testing import PROTOCOLS

    assert not isinstance(nn.Identity(), PROTOCOLS[kind])  # any module used to pass: the check was a no-op
    named = nn.Identity()
    named.output_shape, named.latent_dim = (1, 28, 28), 2
    assert isinstance(named, PROTOCOLS[kind])


@pytest.mark.slow
def test_the_pytest_plugin_does_not_import_torch_into_a_session_that_never_asks_for_the_kit(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_plain="import sys\n\ndef test_torch_is_not_loaded():\n    assert 'torch' not in sys.modules\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--trace-config")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*condgen*pytest_plugin*"])  # the plugin was loaded all the same
