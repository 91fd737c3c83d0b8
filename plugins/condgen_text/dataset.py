"""The ``captions`` dataset: labelled grayscale digits, conditioned on English captions.

Its base is a ``morpho`` dataset (``base: {name: morpho, base: {name: mnist},
attributes: [thickness, slant, area]}``): its measurements (Morpho-MNIST,
cached beside the data) and its labels are reused, nothing is measured twice.
Any other labelled digit dataset as the base (``base: {name: mnist}``) is
wrapped in ``morpho`` here, measuring thickness, slant and the ``size``
measurement. Thickness, slant and size are binned into tertiles of the
*training* split (thin / medium / thick, ...), kept in the checkpoint with the
morpho statistics, so sampling and evaluation never re-derive them from data.

Each time an image is drawn for training it gets a fresh caption: the digit
named with ``p_digit``, each attribute with ``p_attribute``, phrased by the
training part of the grammar (:mod:`.captions`). Captions come from a bank
written once from the grammar alone (``captions_per_request`` per combination
of what is named), so the bank, and the text corpus the tokenizer learns from,
exist without reading any data; a batch only gathers rows of it.

Training draws use torch's global RNG (seeded by the run, checkpointed with
it); the test split's captions are fixed by ``test_seed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

import condgen

from .captions import ATTRIBUTES, DIGIT_WORDS, Grammar, Phrasing, Request
from .codes import encode_texts
from .config import CaptionsConfig

ABSENT = 0  # in a request code, "not named"; bins are stored as 1 + bin




@dataclass(frozen=True)
class Bins:
    """Tertile edges of each attribute's measurement over the training split."""

    edges: dict[str, tuple[float, float]]

    def of(self, name: str, values: np.ndarray) -> np.ndarray:
        """0, 1 or 2 per value; -1 where the measurement is missing (a blank image)."""
        low, high = self.edges[name]
        bins = np.where(values < low, 0, np.where(values < high, 1, 2))
        return np.where(np.isnan(values), -1, bins)


def request_code(digit: int | None, bins: dict[str, int]) -> int:
    """The bank's index of a request: digit (10 for none) then each attribute's 0 (absent) or 1 + bin."""
    code = 10 if digit is None else digit
    for name in ATTRIBUTES:
        code = code * 4 + (ABSENT if name not in bins else 1 + bins[name])
    return code


REQUEST_CODES = 11 * 4 ** len(ATTRIBUTES)


def all_requests() -> list[tuple[int, Request | None]]:
    """Every request the bank holds captions for, with its code (the empty request has none)."""
    out: list[tuple[int, Request | None]] = []
    for code in range(REQUEST_CODES):
        rest, parts = code, []
        for _ in ATTRIBUTES:
            parts.append(rest % 4)
            rest //= 4
        digit = None if rest == 10 else rest
        bins = {name: part - 1 for name, part in zip(ATTRIBUTES, reversed(parts)) if part != ABSENT}
        out.append((code, None if digit is None and not bins else Request(digit, bins)))
    return out


class CaptionBank:
    """``per_request`` training captions for every request, as code-point rows (row = code * per_request + j)."""

    def __init__(self, grammar: Grammar, per_request: int, max_chars: int, phrasing: Phrasing = "train") -> None:
        self.per_request = per_request
        texts: list[str] = []
        for code, request in all_requests():
            for j in range(per_request):
                seed = (grammar.seed * 1_000_003 + code) * 4096 + j
                texts.append("" if request is None else grammar.caption(request, seed, phrasing))
        self.texts = texts
        self.rows = encode_texts(texts, max_chars)

    def corpus(self) -> list[str]:
        return [t for t in self.texts if t]


class CaptionedSplit:
    """A morpho split whose batches get a caption of each image as the condition."""

    def __init__(self, base: Any, dataset: "Captions", measured: dict[str, np.ndarray], test_seed: int | None) -> None:
        self.base = base
        self.dataset = dataset
        self.labels = torch.as_tensor(base.labels).long()
        self.measured = measured
        self.bins = {name: torch.as_tensor(dataset.bins.of(name, measured[name])) for name in ATTRIBUTES}
        self.fixed: torch.Tensor | None = None
        if test_seed is not None:
            generator = torch.Generator().manual_seed(test_seed)
            self.fixed = self._rows(torch.arange(len(base)), generator)

    def __len__(self) -> int:
        return len(self.base)

    def _rows(self, index: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Bank rows of captions for these examples: what is named drawn afresh, phrasing from the bank."""
        config, n = self.dataset.config, len(index)
        draws = torch.rand(n, 1 + len(ATTRIBUTES), generator=generator)
        digit = torch.where(draws[:, 0] < config.p_digit, self.labels[index], torch.full((n,), 10))
        parts = []
        for k, name in enumerate(ATTRIBUTES):
            bins = self.bins[name][index]
            named = (draws[:, 1 + k] < config.p_attribute) & (bins >= 0)
            parts.append(torch.where(named, bins + 1, torch.zeros_like(bins)))
        nothing = (digit == 10) & torch.stack(parts).eq(ABSENT).all(0)
        digit = torch.where(nothing, self.labels[index], digit)  # every caption names something
        code = digit
        for part in parts:
            code = code * 4 + part
        j = torch.randint(self.dataset.bank.per_request, (n,), generator=generator)
        return code * self.dataset.bank.per_request + j

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, _ = self.base.batch(index)
        rows = self.fixed[index] if self.fixed is not None else self._rows(index, None)
        return x, self.dataset.bank.rows[rows]


class Captions:
    """Captioned digits; turns ``--text`` prompts into conditions (``conditions_for_text``).

    It is also a :class:`condgen.MetricDataset` (a label ``7`` is the prompt
    ``seven``), so ``condgen eval``'s conditional accuracy and FID apply, and
    its ``control_metrics`` add ``text_control`` to ``eval.json``.
    """

    num_classes = 10

    def __init__(self, config: CaptionsConfig, context: condgen.BuildContext) -> None:
        self.config = config
        self.morpho = _morpho_base(config, context)
        self.x_shape = tuple(self.morpho.x_shape)
        self.condition_shape = (config.max_chars,)
        self.grammar = Grammar(config.seed, config.holdout)
        self._bank: CaptionBank | None = None
        self._bins: Bins | None = None
        self._splits: dict[str, CaptionedSplit] = {}

    @property
    def bank(self) -> CaptionBank:
        if self._bank is None:
            self._bank = CaptionBank(self.grammar, self.config.captions_per_request, self.config.max_chars)
        return self._bank

    def text_corpus(self) -> list[str]:
        """Every training caption the bank holds: what a tokenizer learns its vocabulary from."""
        return self.bank.corpus()

    # -- measurements ----------------------------------------------------------------
    def measurements(self, split: str) -> dict[str, np.ndarray]:
        """thickness, slant and size (the configured measurement) of each image of ``split``, from the morpho base."""
        morpho = self.morpho.load(split)
        column = {name: i for i, name in enumerate(self.morpho.attributes)}
        size = self.config.size
        return {name: morpho.measured[:, column[measure]]
                for name, measure in (("thickness", "thickness"), ("slant", "slant"), ("size", size))}

    @property
    def bins(self) -> Bins:
        if self._bins is None:
            train = self.measurements("train")
            edges = {}
            for name in ATTRIBUTES:
                low, high = np.nanpercentile(train[name], [100 / 3, 200 / 3])
                edges[name] = (float(low), float(high))
            self._bins = Bins(edges)
        return self._bins

    # -- condgen.StatefulDataset: the bins and the morpho statistics travel in the checkpoint -------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "bins": {name: [low, high] for name, (low, high) in self.bins.edges.items()},
            "morpho": self.morpho.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        try:
            edges = {name: (float(state["bins"][name][0]), float(state["bins"][name][1])) for name in ATTRIBUTES}
        except (KeyError, TypeError, IndexError, ValueError):
            raise condgen.CheckpointError(
                f"The checkpoint's captions state has no bin edges for {', '.join(ATTRIBUTES)}."
            ) from None
        self._bins = Bins(edges)
        self.morpho.load_state_dict(state.get("morpho", {}))

    def load(self, split: str) -> CaptionedSplit:
        if split not in self._splits:
            seed = self.config.test_seed if split == "test" else None
            self._splits[split] = CaptionedSplit(self.morpho.load(split), self, self.measurements(split), seed)
        return self._splits[split]

    # -- labels and evaluation -------------------------------------------------------
    def conditions_for_labels(self, labels: torch.Tensor) -> torch.Tensor:
        bad = labels[(labels < 0) | (labels > 9)]
        if bad.numel():
            raise condgen.UserError(f"Digit labels are 0-9, got {', '.join(map(str, sorted(set(bad.tolist()))))}.")
        return encode_texts([DIGIT_WORDS[d] for d in labels.tolist()], self.config.max_chars)

    def metric_network(self) -> torch.nn.Module:
        return self.morpho.metric_network()

    def control_metrics(self, generate: Any, test: Any, per_class: int) -> dict[str, Any]:
        """``text_control`` (see :mod:`.control`): prompts in training and held-out phrasing, max(100, per_class) each."""
        from .control import bin_edges, text_control

        control = text_control(generate, self, self.metric_network(), count=max(100, per_class))
        return {"text_control": control, "text_bins": bin_edges(self)}

    # -- what a user types --------------------------------------------------------
    def preview_prompts(self) -> list[str]:
        prompts = []
        for i in range(self.config.preview_examples):
            digit = i % 10
            request = Request(digit, {"thickness": digit % 3, "slant": (digit // 3) % 3})
            prompts.append(self.grammar.caption(request, i))
        return prompts

    def preview_conditions(self, per_row: int) -> torch.Tensor:
        return self.conditions_for_text(self.preview_prompts()).repeat_interleave(per_row, dim=0)

    def conditions_for_text(self, prompts: list[str]) -> torch.Tensor:
        """One condition per prompt, cut at ``max_chars``; an empty prompt is refused."""
        for i, prompt in enumerate(prompts):
            if not prompt.strip():
                raise condgen.UserError(
                    f"Prompt {i + 1} is empty.",
                    hint='Describe a digit, e.g. --text "a thick seven leaning right".',
                )
        limit = self.config.max_chars
        return encode_texts([p[:limit] for p in prompts], limit)

    def prompt_notes(self, prompts: list[str]) -> list[str]:
        """What a user should know about their prompts: cut ones, and words no training caption has."""
        limit, notes = self.config.max_chars, []
        for i, prompt in enumerate(prompts):
            if len(prompt) > limit:
                notes.append(f"prompt {i + 1} has {len(prompt):,} characters; the model reads the first {limit} "
                             f"({prompt[:limit]!r})")
            unseen = self.grammar.unseen_words(prompt[:limit])
            if unseen:
                notes.append(f"prompt {i + 1} has words never seen in training: {', '.join(unseen)}; the model "
                             "reads them as sub-words it may not understand")
        return notes

    def conditions_for_request(self, request: Any) -> Any:
        """``--text`` prompts (or ``--label`` digits, as the prompt ``seven``) as a condition batch."""
        from condgen import ConditionBatch

        if request.attributes:
            raise condgen.UserError(
                f"This run's dataset (captions) takes no --attr ({', '.join(request.attributes)}): describe "
                "thickness, slant and size in the prompt.",
                hint='For example --text "a thick seven leaning right".',
            )
        if request.text and request.labels:
            raise condgen.UserError("Give --label or --text, not both: a prompt can name the digit.")
        if request.text:
            prompts = list(request.text)
            conditions = self.conditions_for_text(prompts)
            notes = self.prompt_notes(prompts)
        elif request.labels:
            prompts = [DIGIT_WORDS[d] if 0 <= d <= 9 else str(d) for d in request.labels]
            conditions, notes = self.conditions_for_labels(torch.tensor(request.labels)), []
        else:
            prompts, notes = self.preview_prompts(), []
            conditions = self.conditions_for_text(prompts)
        return ConditionBatch(conditions.repeat_interleave(request.copies, dim=0), tuple(prompts), tuple(notes))


def build(config: CaptionsConfig, context: condgen.BuildContext) -> Captions:
    return Captions(config, context)


def _morpho_base(config: CaptionsConfig, context: condgen.BuildContext) -> Any:
    """The base as a labelled morpho dataset measuring thickness, slant and the size measurement.

    A morpho base is used as it is (its attributes must include those three);
    any other base is wrapped in morpho here, measuring exactly them.
    """
    from condgen_morpho.dataset import LabelledMorpho, Morpho, MorphoConfig, wrap

    needed = ["thickness", "slant", config.size]
    base = context.build(config.base)
    if isinstance(base, Morpho):
        if config.cache is not None:
            raise condgen.RecipeError(
                "The captions dataset's cache applies only when it measures its base itself; this base is a morpho "
                "dataset, which has its own.",
                hint="Move cache into the morpho block (data.base.cache).",
            )
        missing = [name for name in needed if name not in base.attributes]
        if missing or not isinstance(base, LabelledMorpho):
            raise condgen.PluginError(
                f"The captions dataset needs its morpho base to keep the label (label: true) and measure "
                f"{', '.join(needed)}; it has label: {isinstance(base, LabelledMorpho)} and attributes "
                f"{', '.join(base.attributes)}.",
                hint=f"Set data.base.attributes to a list containing {', '.join(needed)}, and label: true.",
            )
        morpho = base
    else:
        shape = tuple(base.x_shape)
        if len(shape) != 3 or shape[0] != 1 or getattr(base, "num_classes", None) != 10:
            raise condgen.PluginError(
                f"The captions dataset needs ten classes of grayscale digit images, x of shape (1, H, W); the "
                f"dataset {config.base.name!r} gives x of shape {shape} and "
                f"{getattr(base, 'num_classes', 'no')} classes."
            )
        morpho = wrap(MorphoConfig(base=config.base, attributes=needed, label=True, cache=config.cache), context, base)
    if getattr(morpho, "num_classes", None) != 10:
        raise condgen.PluginError(
            f"The captions dataset needs ten classes of digits; its base has {getattr(morpho, 'num_classes', 'no')}."
        )
    return morpho


