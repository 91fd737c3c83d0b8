"""A test kit for plugin authors: does a component honour its kind's protocol?

``check_component(kind, name, options)`` finds the component through the real
plugin machinery (entry points, pluggy, the registry), builds it the way a
recipe would, and checks what the rest of condgen relies on:

- its config model round-trips through JSON (run folders store recipes as YAML);
- it satisfies its kind's ``typing.Protocol`` and returns the right shapes and
  dtypes (distributions with the right batch and event shapes);
- a dataset that claims an optional protocol (``LabelledDataset``,
  ``MetricDataset``, ``MaskedDataset``) honours it on a batch of its own data;
- composed into a small conditional VAE with this kit's reference parts, a few
  Adam steps on tiny data lower the -ELBO.

Any failure raises :class:`ProtocolViolation` naming the component, its module
and distribution, and what is wrong. The same kit runs over condgen's own
built-ins. The pytest plugin ``condgen.pytest_plugin`` (entry point ``pytest11``)
offers the fixture ``condgen_check``, which is ``check_component``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import torch
from torch import distributions as D
from torch import nn

from .compose import assemble, resolver
from .errors import PluginError
from .model import ConditionalVAE, forward_step
from .plugins import Plugins, load_plugins
from .protocols import (
    KIND_PROTOCOLS, BuildContext, Conditioner, Dataset, Decoder, Encoder, Head, LabelledDataset, MaskedDataset,
    MetricDataset, Prior, Split, TextEncoder,
)
from .protocols import Logger, RunInfo
from .registry import Component, Part
from .training_step import ModelLoss, TrainingStep

PROTOCOLS = KIND_PROTOCOLS


class ProtocolViolation(PluginError):
    """A component that does not do what its kind promises."""


@dataclass
class CheckReport:
    """What was checked, for a test to print or assert on."""

    kind: str
    name: str
    passed: list[str] = field(default_factory=list)
    loss_before: float | None = None
    loss_after: float | None = None


def check_component(
    kind: str,
    name: str,
    options: dict[str, Any] | None = None,
    *,
    x_shape: tuple[int, ...] = (1, 28, 28),
    condition_shape: tuple[int, ...] = (10,),
    plugins: Plugins | Iterable[str] | None = None,
    steps: int = 40,
    batch_size: int = 32,
    partners: dict[str, tuple[str, dict[str, Any]]] | None = None,
) -> CheckReport:
    """Check one registered component; raise :class:`ProtocolViolation` on the first problem.

    ``x_shape`` and ``condition_shape`` are the data the component is tried on
    (ignored for datasets, which bring their own); ``plugins`` is a loaded
    :class:`~condgen.plugins.Plugins` or extra plugin modules to load.
    ``partners`` replaces this kit's reference parts for other roles with
    registered components, ``{role: (name, options)}``: a convolutional encoder
    needs a conditioner that hands it images, for example.
    """
    if not isinstance(plugins, Plugins):
        plugins = load_plugins(list(plugins or ()))
    component = plugins.registry.get(kind, name)
    resolve = resolver(plugins)
    report = CheckReport(kind, name)
    fail = _Failer(component)
    config = _check_config(component, options or {}, fail)
    report.passed.append("config round-trips through JSON")

    if kind == "logger":
        return _check_logger(component, config, fail, report)
    if kind == "dataset":
        dataset = Part(component, config).build(BuildContext(resolve=resolve))
        _check_protocol(dataset, kind, fail)
        data = _check_dataset(dataset, batch_size, fail)
        x_shape, condition_shape = tuple(dataset.x_shape), tuple(dataset.condition_shape)
        report.passed.append("splits and preview conditions have the declared shapes and dtype float32")
        report.passed.extend(_check_dataset_extras(dataset, data[0][:batch_size], data[1][:batch_size], fail))
        under_test = None
    else:
        data = reference_data(x_shape, condition_shape, 4 * batch_size)
        under_test = kind

    if kind == "text_encoder":
        return _check_text_encoder(component, config, steps, fail, report)
    if kind == "head":
        return _check_head(Part(component, config), resolve, x_shape, condition_shape, data, steps, batch_size, fail, report)

    built: dict[str, Any] = {}

    def build(role: str, context: BuildContext) -> Any:
        if role == under_test:
            part = Part(component, config).build(context)
            _check_protocol(part, role, fail)
        elif role in (partners or {}):
            name_, options_ = partners[role]
            partner = plugins.registry.get(role, name_)
            part = Part(partner, partner.config.model_validate(options_)).build(context)
        else:
            part = REFERENCE_PARTS[role](context)
        built[role] = part
        return part

    try:
        model = assemble(build, x_shape, condition_shape, resolve, dataset if kind == "dataset" else ReferenceTexts())
    except ProtocolViolation:
        raise
    except Exception as error:
        raise fail(f"building it failed: {type(error).__name__}: {error}") from None
    if kind == "dataset" and isinstance(dataset, MaskedDataset):
        model.masking = dataset  # as a recipe's model would: masked likelihood, revealed entries pasted back
    if under_test:
        report.passed.append(f"satisfies the {kind} protocol")
    x, condition = data
    _check_shapes(model, built, under_test, x[:batch_size], condition[:batch_size], fail)
    report.passed.append("outputs have the right shapes and dtypes")
    report.loss_before, report.loss_after = _check_training(model, x, condition, steps, batch_size, fail)
    report.passed.append(f"{steps} Adam steps lower the -ELBO ({report.loss_before:.1f} -> {report.loss_after:.1f})")
    return report


class _Failer:
    def __init__(self, component: Component) -> None:
        source = component.source
        self.prefix = (
            f"{component.kind} {component.name!r} (module {source.module}, "
            f"distribution {source.distribution} {source.version}) breaks the {component.kind} protocol"
        )

    def __call__(self, problem: str) -> ProtocolViolation:
        return ProtocolViolation(f"{self.prefix}: {problem}")


def _check_config(component: Component, options: dict[str, Any], fail: _Failer):
    try:
        config = component.config.model_validate(options)
    except Exception as error:
        raise fail(f"its config model rejects {options!r}: {error}") from None
    try:
        dumped = json.loads(json.dumps(config.model_dump(mode="json")))
        again = component.config.model_validate(dumped)
    except Exception as error:
        raise fail(f"its config does not round-trip through JSON: {type(error).__name__}: {error}") from None
    if again != config:
        raise fail(f"its config changes in a JSON round-trip: {config!r} became {again!r}")
    return config


def _check_protocol(part: Any, kind: str, fail: _Failer) -> None:
    if not isinstance(part, PROTOCOLS[kind]):
        raise fail(f"the built object ({type(part).__name__}) lacks the members of condgen.{PROTOCOLS[kind].__name__}")


def _check_dataset(dataset: Any, batch_size: int, fail: _Failer) -> tuple[torch.Tensor, torch.Tensor]:
    x_shape, c_shape = tuple(dataset.x_shape), tuple(dataset.condition_shape)
    for split_name in ("train", "test"):
        split = dataset.load(split_name)
        if not isinstance(split, Split) or len(split) == 0:
            raise fail(f"load({split_name!r}) returned {type(split).__name__} with no examples")
        index = torch.arange(min(batch_size, len(split)))
        x, condition = split.batch(index)
        _expect(x, (len(index), *x_shape), f"{split_name} x", fail)
        _expect(condition, (len(index), *c_shape), f"{split_name} condition", fail)
        if split_name == "train":
            pool = torch.arange(min(4 * batch_size, len(split)))
            data = split.batch(pool)
    preview = dataset.preview_conditions(3)
    if preview.dim() < 1 or tuple(preview.shape[1:]) != c_shape:
        raise fail(f"preview_conditions(3) has shape {tuple(preview.shape)}, expected (N, *{c_shape})")
    return data


def _check_dataset_extras(dataset: Any, x: torch.Tensor, condition: torch.Tensor, fail: _Failer) -> list[str]:
    """The optional dataset protocols it claims, checked as ``condgen sample``, ``eval`` and ``inpaint`` use them."""
    passed = []
    if isinstance(dataset, LabelledDataset):
        _check_labelled(dataset, fail)
        passed.append("conditions_for_labels gives one float32 condition per class (LabelledDataset)")
    if isinstance(dataset, MetricDataset):
        _check_metric(dataset, x, fail)
        passed.append("metric_network gives 2-D features, and class logits from them, on real x (MetricDataset)")
    if isinstance(dataset, MaskedDataset):
        _check_masked(dataset, x, condition, fail)
        passed.append("observed_mask, paste, condition_for and likelihood_mask agree on real data (MaskedDataset)")
    return passed


def _attempt(call: str, function: Any, *args: Any, fail: _Failer) -> Any:
    """Call a dataset method; an exception becomes a violation naming the call."""
    try:
        return function(*args)
    except ProtocolViolation:
        raise
    except Exception as error:
        raise fail(f"{call} raised {type(error).__name__}: {error}") from None


def _check_labelled(dataset: Any, fail: _Failer) -> None:
    n = dataset.num_classes
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise fail(f"num_classes is {n!r}, expected a positive int")
    call = f"conditions_for_labels(torch.arange({n}))"
    conditions = _attempt(call, dataset.conditions_for_labels, torch.arange(n), fail=fail)
    _expect(conditions, (n, *dataset.condition_shape), call, fail)


@torch.no_grad()
def _check_metric(dataset: Any, x: torch.Tensor, fail: _Failer) -> None:
    network = _attempt("metric_network()", dataset.metric_network, fail=fail)
    if not isinstance(network, nn.Module):
        raise fail(f"metric_network() returned a {type(network).__name__}, expected a torch.nn.Module")
    logits = _attempt("metric_network()(x)", network, x, fail=fail)
    _expect(logits, (len(x), dataset.num_classes), "metric_network()(x), the class logits,", fail)
    if not torch.equal(logits, network(x)):
        raise fail("metric_network()(x) differs between two calls: condgen eval needs a fixed network (eval mode)")
    if not callable(getattr(network, "features", None)):
        raise fail("metric_network() has no features(x) method, which condgen eval's FID needs")
    features = _attempt("metric_network().features(x)", network.features, x, fail=fail)
    if not isinstance(features, torch.Tensor) or features.dim() != 2 or len(features) != len(x):
        got = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__
        raise fail(f"metric_network().features(x) gave {got}, expected a tensor of shape ({len(x)}, F)")
    if not callable(getattr(network, "classify", None)):
        raise fail("metric_network() has no classify(features) method, which condgen eval's accuracy needs")
    from_features = _attempt("metric_network().classify(features)", network.classify, features, fail=fail)
    if not (isinstance(from_features, torch.Tensor) and torch.allclose(from_features, logits, rtol=1e-4, atol=1e-5)):
        raise fail("metric_network().classify(features(x)) differs from metric_network()(x): they must be one network")


def _check_masked(dataset: Any, x: torch.Tensor, condition: torch.Tensor, fail: _Failer) -> None:
    observed = _attempt("observed_mask(condition)", dataset.observed_mask, condition, fail=fail)
    _expect_mask(observed, x, "observed_mask(condition)", fail)
    pasted = _attempt("paste(1 - x, condition)", dataset.paste, 1 - x, condition, fail=fail)
    _expect(pasted, tuple(x.shape), "paste(1 - x, condition)", fail)
    expected = torch.where(observed, x, 1 - x)
    if not torch.allclose(pasted, expected):
        raise fail(
            "paste(1 - x, condition) must give the revealed x where observed_mask is true and 1 - x elsewhere; "
            f"it is off by up to {(pasted - expected).abs().max().item():.3g}"
        )
    call = "condition_for(x, observed_mask(condition))"
    rebuilt = _attempt(call, dataset.condition_for, x, observed, fail=fail)
    _expect(rebuilt, tuple(condition.shape), call, fail)
    again = _attempt(f"observed_mask({call})", dataset.observed_mask, rebuilt, fail=fail)
    _expect_mask(again, x, f"observed_mask({call})", fail)
    if not torch.equal(again.expand_as(x), observed.expand_as(x)):
        raise fail(f"observed_mask({call}) differs from observed_mask(condition): condition_for must reveal that mask")
    scored = _attempt("likelihood_mask(condition)", dataset.likelihood_mask, condition, fail=fail)
    if scored is not None:
        _expect_mask(scored, x, "likelihood_mask(condition)", fail)


def _expect_mask(mask: Any, x: torch.Tensor, what: str, fail: _Failer) -> None:
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        got = f"dtype {mask.dtype}" if isinstance(mask, torch.Tensor) else f"a {type(mask).__name__}"
        raise fail(f"{what} gave {got}, expected a bool tensor")
    try:
        fits = torch.broadcast_shapes(mask.shape, x.shape) == x.shape
    except RuntimeError:
        fits = False
    if not fits:
        raise fail(f"{what} has shape {tuple(mask.shape)}, expected one that broadcasts to x's {tuple(x.shape)}")


def _expect(tensor: Any, shape: tuple[int, ...], what: str, fail: _Failer) -> None:
    if not isinstance(tensor, torch.Tensor):
        raise fail(f"{what} is a {type(tensor).__name__}, not a tensor")
    if tuple(tensor.shape) != shape:
        raise fail(f"{what} has shape {tuple(tensor.shape)}, expected {shape}")
    if tensor.dtype != torch.float32:
        raise fail(f"{what} has dtype {tensor.dtype}, expected torch.float32")


def _expect_distribution(
    model: ConditionalVAE, role: str, what: str, dist: Any, batch: int, event: tuple[int, ...], fail: _Failer
) -> None:
    """The model's own check of what a part returned (the one every training step makes), as a violation."""
    try:
        model.expect(role, what, dist, batch, event)
    except PluginError as error:
        raise fail(error.message) from None


def _check_shapes(model: ConditionalVAE, built: dict, under_test: str | None, x, condition, fail: _Failer) -> None:
    n, x_shape, latent = len(x), tuple(x.shape[1:]), model.latent_dim
    conditioner = built["conditioner"]
    joined_x = conditioner.encoder_input(x, condition)
    if under_test == "conditioner":
        expected = tuple(conditioner.encoder_input_shape(x_shape, tuple(condition.shape[1:])))
        _expect(joined_x, (n, *expected), "encoder_input", fail)
    q = model.posterior(x, condition)
    _expect_distribution(model, "encoder", "q(z|x,c)", q, n, (latent,), fail)
    z = q.rsample()
    _expect(z, (n, latent), "a sample of q(z|x,c)", fail)
    if under_test == "conditioner":
        expected = tuple(conditioner.decoder_input_shape(latent, tuple(condition.shape[1:])))
        _expect(conditioner.decoder_input(z, condition), (n, *expected), "decoder_input", fail)
    _expect_distribution(model, "decoder", "p(x|z,c)", model.likelihood(z, condition), n, x_shape, fail)
    _expect_distribution(model, "prior", "p(z|c)", model.prior_for(condition), n, (latent,), fail)
    samples = model.sample(condition)
    _expect(samples, (n, *x_shape), "model.sample(condition)", fail)


def _check_training(model: ConditionalVAE, x, condition, steps: int, batch_size: int, fail: _Failer):
    def evaluate() -> float:
        torch.manual_seed(1234)
        with torch.no_grad():
            return model.losses(x, condition).loss.item()

    torch.manual_seed(0)
    before = evaluate()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    for step in range(steps):
        index = torch.randint(len(x), (batch_size,), generator=generator)
        loss = model.losses(x[index], condition[index]).loss
        if not torch.isfinite(loss):
            raise fail(f"the -ELBO became {loss.item()} at training step {step + 1}")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = evaluate()
    if not after < before:
        raise fail(f"{steps} Adam steps on tiny data did not lower the -ELBO ({before:.2f} -> {after:.2f})")
    return before, after


class ReferenceTexts:
    """The kit's stand-in for a dataset of captions: parts that train a tokenizer ask it for ``text_corpus()``."""

    WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

    def text_corpus(self) -> list[str]:
        return [f"a {size} {word}" for size in ("small", "large") for word in self.WORDS]


def _check_text_encoder(component, config, steps: int, fail: _Failer, report: CheckReport) -> CheckReport:
    """Texts in, one finite vector each out; a few Adam steps can pull two texts' vectors apart."""
    try:
        encoder = Part(component, config).build(BuildContext(dataset=ReferenceTexts()))
    except Exception as error:
        raise fail(f"building it failed: {type(error).__name__}: {error}") from None
    _check_protocol(encoder, "text_encoder", fail)
    report.passed.append("satisfies the text_encoder protocol")
    texts = ["a small seven", "a large two", "", "an unseen wörd, 数字 and punctuation!"]
    out = encoder(texts)
    _expect(out, (len(texts), int(encoder.dim)), "its output", fail)
    if not torch.isfinite(out).all():
        raise fail("it returned non-finite values")
    report.passed.append("gives one finite vector of dim values per text, empty and non-ASCII ones included")
    parameters = [p for p in encoder.parameters() if p.requires_grad]
    if parameters:
        optimizer = torch.optim.Adam(parameters, lr=1e-2)

        def gap() -> torch.Tensor:
            a, b = encoder(texts[:2])
            return -(a - b).pow(2).mean()

        report.loss_before = gap().item()
        for _ in range(steps):
            optimizer.zero_grad()
            gap().backward()
            optimizer.step()
        report.loss_after = gap().item()
        if not report.loss_after < report.loss_before:
            raise fail("its parameters do not move its output: training cannot shape the text embedding")
        report.passed.append(f"{steps} Adam steps move its vectors ({report.loss_before:.3g} -> {report.loss_after:.3g})")
    return report


def _check_logger(component, config, fail, report) -> CheckReport:
    """A logger driven through a short run in a scratch run folder: every call returns without raising."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="condgen-check-") as folder:
        try:
            logger = Part(component, config).build(BuildContext())
        except Exception as error:
            raise fail(f"building it failed: {type(error).__name__}: {error}") from None
        _check_protocol(logger, "logger", fail)
        report.passed.append("satisfies the logger protocol")
        run = RunInfo(Path(folder), "check", {"name": "check", "trainer": {"epochs": 2}})
        images = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))
        calls = [
            ("start", (run,)),
            ("log_metrics", ({"epoch": 1, "step": 10, "train_loss": 120.5, "test_elbo": 121.0}, 10)),
            ("log_images", ("samples", images, 10)),
            ("log_metrics", ({"epoch": 2, "step": 20, "train_loss": 110.0, "test_elbo": 111.5}, 20)),
            ("finish", ("finished",)),
        ]
        for method, args in calls:
            try:
                getattr(logger, method)(*args)
            except Exception as error:
                raise fail(f"{method} raised {type(error).__name__}: {error}") from None
        report.passed.append("start, log_metrics, log_images and finish run through a two-epoch run")
    return report


def _check_head(part: Part, resolve, x_shape, condition_shape, data, steps, batch_size, fail, report) -> CheckReport:
    """A head trained alone against a fixed reference model: its terms are well formed and its own loss drops."""
    model = assemble(lambda role, context: REFERENCE_PARTS[role](context), x_shape, condition_shape)
    context = BuildContext(x_shape=x_shape, condition_shape=condition_shape, latent_dim=model.latent_dim, resolve=resolve)
    try:
        head = part.build(context)
    except Exception as error:
        raise fail(f"building it failed: {type(error).__name__}: {error}") from None
    _check_protocol(head, "head", fail)
    report.passed.append("satisfies the head protocol")
    x, condition = data
    optimizer = head.optimizer()
    if optimizer is None:
        if any(True for _ in head.parameters()):
            raise fail("optimizer() is None, but the head has parameters that nothing would train")
        report.passed.append("has no parameters and no update of its own")
        return _check_model_losses(head, model, x, condition, batch_size, fail, report)
    owned = {id(p) for group in optimizer.param_groups for p in group["params"]}
    if owned != {id(p) for p in head.parameters()}:
        raise fail("optimizer() must optimise exactly the head's own parameters")

    def head_loss(step: TrainingStep) -> torch.Tensor:
        terms = head.head_losses(step.detached())
        if not isinstance(terms, dict) or "loss" not in terms:
            raise fail("head_losses must return a dict with a 'loss' tensor")
        _expect(terms["loss"], (), "head_losses()['loss']", fail)
        return terms["loss"]

    def evaluate() -> float:
        torch.manual_seed(1234)
        with torch.no_grad():
            return head_loss(forward_step(model, x, condition, generate=True)).item()

    before = evaluate()
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        index = torch.randint(len(x), (batch_size,), generator=generator)
        with torch.no_grad():
            step = forward_step(model, x[index], condition[index], generate=True)
        loss = head_loss(step)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = evaluate()
    if not after < before:
        raise fail(f"{steps} steps of its own optimiser did not lower its loss ({before:.3f} -> {after:.3f})")
    _check_model_losses(head, model, x, condition, batch_size, fail, report)
    report.loss_before, report.loss_after = before, after
    report.passed.append(f"{steps} steps of its optimiser lower its loss ({before:.3f} -> {after:.3f})")
    return report


def _check_model_losses(head, model, x, condition, batch_size, fail, report) -> CheckReport:
    """Each of the head's terms is a scalar ModelLoss, and one that claims the decoder reaches it."""
    torch.manual_seed(0)  # after training: a head may build state (class centres, ...) in head_losses
    step = forward_step(model, x[:batch_size], condition[:batch_size], generate=True)
    terms = head.model_losses(step)
    decoder = list(model.decoder.parameters())
    for term in terms:
        if not isinstance(term, ModelLoss) or not term.roles <= {"encoder", "decoder"} or not term.roles:
            raise fail(f"model_losses must return ModelLoss(name, value, roles ⊆ {{encoder, decoder}}), got {term!r}")
        _expect(term.value, (), f"model loss {term.name!r}", fail)
        if "decoder" in term.roles:
            grads = torch.autograd.grad(term.value, decoder, retain_graph=True, allow_unused=True)
            if all(g is None or not g.abs().sum() for g in grads):
                raise fail(f"model loss {term.name!r} claims to train the decoder but has no gradient for it")
    report.passed.append(f"model_losses gives {len(terms)} well-formed terms that reach the model")
    return report


# -- reference parts: the smallest honest implementation of each protocol -----


def reference_data(x_shape: tuple[int, ...], condition_shape: tuple[int, ...], n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` examples in [0, 1] of 10 classes; each class has its own condition and image prototype."""
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % 10
    conditions = torch.rand(10, *condition_shape, generator=generator)
    prototypes = torch.rand(10, *x_shape, generator=generator).round()
    noise = torch.rand(n, *x_shape, generator=generator) * 0.2
    return (prototypes[labels] * 0.8 + noise), conditions[labels]


class _Concat(nn.Module):
    def encoder_input_shape(self, x_shape, condition_shape):
        return (math.prod(x_shape) + math.prod(condition_shape),)

    def decoder_input_shape(self, latent_dim, condition_shape):
        return (latent_dim + math.prod(condition_shape),)

    def encoder_input(self, x, condition):
        return torch.cat([x.flatten(1), condition.flatten(1)], 1)

    def decoder_input(self, z, condition):
        return torch.cat([z.flatten(1), condition.flatten(1)], 1)


class _Net(nn.Module):
    """One hidden layer of 64 that accepts the conditioner's modulator, as a plugin network should."""

    def __init__(self, context: BuildContext, out: int) -> None:
        super().__init__()
        self.hidden = nn.Linear(math.prod(context.input_shape), 64)
        self.modulator = context.modulator(64)
        self.out = nn.Linear(64, out)

    def forward(self, inputs: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        h = self.hidden(inputs.flatten(1))
        if self.modulator is not None:
            h = self.modulator(h, condition)
        return self.out(torch.relu(h))


class _GaussianEncoder(nn.Module):
    latent_dim = 2

    def __init__(self, context: BuildContext) -> None:
        super().__init__()
        self.net = _Net(context, 2 * self.latent_dim)

    def forward(self, joined, condition):
        mu, log_var = self.net(joined, condition).chunk(2, 1)
        return D.Independent(D.Normal(mu, torch.exp(0.5 * log_var)), 1)


class _BernoulliDecoder(nn.Module):
    def __init__(self, context: BuildContext) -> None:
        super().__init__()
        self.output_shape = tuple(context.output_shape)
        self.net = _Net(context, math.prod(self.output_shape))

    def forward(self, joined, condition):
        logits = self.net(joined, condition).view(-1, *self.output_shape)
        return D.Independent(D.Bernoulli(logits=logits, validate_args=False), len(self.output_shape))


class _StandardNormal(nn.Module):
    def __init__(self, context: BuildContext) -> None:
        super().__init__()
        self.latent_dim = context.latent_dim

    def forward(self, condition):
        loc = condition.new_zeros(condition.shape[0], self.latent_dim)
        return D.Independent(D.Normal(loc, torch.ones_like(loc)), 1)


REFERENCE_PARTS = {
    "conditioner": lambda context: _Concat(),
    "encoder": _GaussianEncoder,
    "decoder": _BernoulliDecoder,
    "prior": _StandardNormal,
}
