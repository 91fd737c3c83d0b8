"""English captions from a digit's label and its binned measurements: a small seeded grammar.

A caption names the digit (as a numeral or a word) and any of three attributes,
each in one of three bins: thickness (thin / medium / thick), slant (leaning
left / upright / leaning right) and size (small / medium / large). Attributes
are optional and placed before the digit (``a thick 7``) or after it
(``a 7 with thick strokes``), in a varied order, inside one of many frames
(``draw ...``, ``an image of ...``).

A fixed, seeded part of the frames, noun forms and attribute phrases is
*held out*: training captions never use it, evaluation uses it to ask whether a
model understood phrasing it never saw. An item is held out only when every
word in it also occurs in the training part: a model trained from scratch
cannot know a word it never read, so the held-out part tests new phrasing of
known words (word order, new combinations), which is what can be learned.

Every caption is a pure function of the grammar's seed, the request and a
caption seed: ``Grammar(seed).caption(request, caption_seed)`` never changes.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Iterable, Literal, Mapping

Phrasing = Literal["train", "heldout"]
PHRASINGS: tuple[Phrasing, ...] = ("train", "heldout")

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ATTRIBUTES = ("thickness", "slant", "size")
BIN_NAMES = {
    "thickness": ("thin", "medium", "thick"),
    "slant": ("leaning left", "upright", "leaning right"),
    "size": ("small", "medium", "large"),
}

# The first item of every list is its plain form, always in training (see Grammar._split).
# Adjectives written before the digit, per attribute and bin.
BEFORE: dict[str, tuple[tuple[str, ...], ...]] = {
    "thickness": (
        ("thin", "slim", "skinny", "fine", "thin-stroked", "thinly drawn"),
        ("medium", "regular", "medium-weight", "normal-weight", "medium-stroked"),
        ("thick", "bold", "heavy", "fat", "thick-stroked", "boldly drawn"),
    ),
    "slant": (
        ("left-leaning", "left-slanted", "left-tilted", "leftward-leaning"),
        ("upright", "straight", "vertical", "unslanted"),
        ("right-leaning", "right-slanted", "right-tilted", "rightward-leaning"),
    ),
    "size": (
        ("small", "tiny", "little", "small-sized"),
        ("medium-sized", "average-sized", "mid-sized", "medium-size"),
        ("large", "big", "huge", "large-sized"),
    ),
}

# Phrases written after the digit, per attribute and bin.
AFTER: dict[str, tuple[tuple[str, ...], ...]] = {
    "thickness": (
        ("with thin strokes", "with thin lines", "written with a fine pen", "in a thin stroke", "drawn thin"),
        ("with medium strokes", "with regular lines", "written with a regular pen", "in a medium stroke"),
        ("with thick strokes", "with bold lines", "written with a heavy pen", "in a thick stroke", "drawn bold"),
    ),
    "slant": (
        ("leaning left", "leaning to the left", "slanted left", "tilted to the left", "slanting left", "tilted left"),
        ("standing upright", "upright", "standing straight", "not slanted", "with no slant", "straight up"),
        (
            "leaning right",
            "leaning to the right",
            "slanted right",
            "tilted to the right",
            "slanting right",
            "tilted right",
        ),
    ),
    "size": (
        ("of small size", "drawn small", "at a small size", "in a small size"),
        ("of medium size", "of average size", "at a medium size", "in a medium size"),
        ("of large size", "drawn large", "at a large size", "in a large size"),
    ),
}

# How the digit itself is named: {d} is the numeral or the word.
NOUNS = ("{d}", "digit {d}", "number {d}", "handwritten {d}", "figure {d}", "numeral {d}")
# How a caption that names no digit refers to it.
ANONYMOUS_NOUNS = ("digit", "number", "figure", "handwritten digit")
# Whole-caption frames: {np} is the noun phrase with its adjectives, {post} the phrases after it.
FRAMES = (
    "{np}{post}",
    "draw {np}{post}",
    "an image of {np}{post}",
    "a picture of {np}{post}",
    "show me {np}{post}",
    "please draw {np}{post}",
    "generate {np}{post}",
    "write {np}{post}",
    "i want {np}{post}",
    "make {np}{post}",
    "a photo of {np}{post}",
    "please write {np}{post}",
    "show {np}{post}",
    "an image showing {np}{post}",
    "give me {np}{post}",
    "a drawing of {np}{post}",
)
JOINERS = (" and ", ", ")

WORD = re.compile(r"[^\W\d_]+|\d")  # runs of letters (any script), single digits


def words(text: str) -> set[str]:
    """The lower-case words and single digits of ``text``, as the vocabulary check sees them."""
    return set(WORD.findall(text.lower()))


@dataclass(frozen=True)
class Request:
    """What a caption says: the digit (or ``None``) and a bin (0, 1, 2) for each attribute it names."""

    digit: int | None
    bins: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.digit is not None and not 0 <= self.digit <= 9:
            raise ValueError(f"digit must be 0-9, got {self.digit}")
        for name, value in self.bins.items():
            if name not in ATTRIBUTES or value not in (0, 1, 2):
                raise ValueError(f"bad attribute bin {name}={value}")
        if self.digit is None and not self.bins:
            raise ValueError("a caption names the digit or at least one attribute")


@dataclass(frozen=True)
class Part:
    """One phrasing of the grammar (training or held-out): the lists the caption picks from."""

    frames: tuple[str, ...]
    nouns: tuple[str, ...]
    before: dict[str, tuple[tuple[str, ...], ...]]
    after: dict[str, tuple[tuple[str, ...], ...]]

    def items(self) -> Iterable[str]:
        yield from self.frames
        yield from self.nouns
        for table in (self.before, self.after):
            for bins in table.values():
                for phrases in bins:
                    yield from phrases


@dataclass(frozen=True)
class Choice:
    """What one caption was made of: its frame, noun form, adjectives and after-phrases, and the text."""

    frame: str
    noun: str
    adjectives: tuple[str, ...]
    phrases: tuple[str, ...]
    text: str


class Grammar:
    """The caption grammar with its seeded held-out part.

    ``holdout`` is the fraction of each list held out (at least one item of a
    list of three or more, never leaving fewer than two for training).
    """

    def __init__(self, seed: int = 0, holdout: float = 0.25) -> None:
        if not 0 < holdout < 1:
            raise ValueError("holdout must be between 0 and 1")
        self.seed = seed
        self.holdout = holdout
        rng = random.Random(f"condgen-captions-{seed}")
        everything = [*FRAMES, *NOUNS, *ANONYMOUS_NOUNS, *(p for t in (BEFORE, AFTER) for b in t.values() for ps in b for p in ps)]
        self._known = _word_counts(everything)
        frames_train, frames_held = self._split(FRAMES, rng)
        nouns_train, nouns_held = self._split(NOUNS, rng)
        before = {a: tuple(self._split(ps, rng) for ps in BEFORE[a]) for a in ATTRIBUTES}
        after = {a: tuple(self._split(ps, rng) for ps in AFTER[a]) for a in ATTRIBUTES}
        self.parts: dict[Phrasing, Part] = {
            "train": Part(
                frames_train,
                nouns_train,
                {a: tuple(t for t, _ in before[a]) for a in ATTRIBUTES},
                {a: tuple(t for t, _ in after[a]) for a in ATTRIBUTES},
            ),
            "heldout": Part(
                frames_held or frames_train,
                nouns_held or nouns_train,
                {a: tuple(h or t for t, h in before[a]) for a in ATTRIBUTES},
                {a: tuple(h or t for t, h in after[a]) for a in ATTRIBUTES},
            ),
        }
        #: every word a training caption can contain
        self.vocabulary: frozenset[str] = frozenset(
            {w for item in self.parts["train"].items() for w in _plain_words(item)}
            | {w for noun in ANONYMOUS_NOUNS for w in words(noun)}
            | {w for joiner in JOINERS for w in words(joiner)}
            | set(DIGIT_WORDS)
            | {str(d) for d in range(10)}
            | {"a", "an", "the"}
        )

    def _split(self, items: tuple[str, ...], rng: random.Random) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(training items, held-out items): held out only where every word stays known from training.

        The first item of each list is the plain form (``thick``, ``leaning right``, the bare digit) and is
        never held out, so the prompts a user writes first are always training phrasing.
        """
        if len(items) < 3:
            return items, ()
        wanted = max(1, round(self.holdout * len(items)))
        order = list(items[1:])
        rng.shuffle(order)
        held: list[str] = []
        for candidate in order:
            if len(held) == wanted or len(items) - len(held) <= 2:
                break
            # Every word of the candidate must also occur in an item that stays in training.
            if all(self._known[w] > 1 for w in _plain_words(candidate)):
                held.append(candidate)
                for w in _plain_words(candidate):
                    self._known[w] -= 1
        return tuple(i for i in items if i not in held), tuple(i for i in items if i in held)

    def caption(self, request: Request, seed: int, phrasing: Phrasing = "train") -> str:
        """The caption for ``request``, a pure function of the grammar's seed, ``seed`` and ``phrasing``."""
        return self.choose(request, seed, phrasing).text

    def choose(self, request: Request, seed: int, phrasing: Phrasing = "train") -> "Choice":
        """The grammar items a caption is made of, and its text."""
        part = self.parts[phrasing]
        rng = random.Random(seed)
        before: list[str] = []
        after: list[str] = []
        for name in ATTRIBUTES:  # a fixed walk, so the draws depend on nothing but the seed
            if name in request.bins:
                (before if rng.random() < 0.5 else after).append(name)
        rng.shuffle(before)
        rng.shuffle(after)
        adjectives = [rng.choice(part.before[name][request.bins[name]]) for name in before]
        phrases = [rng.choice(part.after[name][request.bins[name]]) for name in after]
        if request.digit is None:
            noun_form = noun = rng.choice(ANONYMOUS_NOUNS)
        else:
            digit = str(request.digit) if rng.random() < 0.5 else DIGIT_WORDS[request.digit]
            noun_form = rng.choice(part.nouns)
            noun = noun_form.replace("{d}", digit)
        head = " ".join([*adjectives, noun])
        article = rng.choice(("a", "the", ""))
        if article == "a" and _starts_with_vowel_sound(head):
            article = "an"
        np = f"{article} {head}".strip()
        post = ""
        if phrases:
            joiner = rng.choice(JOINERS)
            post = (", " if rng.random() < 0.3 else " ") + joiner.join(phrases)
        frame = rng.choice(part.frames)
        return Choice(frame, noun_form, tuple(adjectives), tuple(phrases), frame.format(np=np, post=post))

    def unseen_words(self, text: str) -> list[str]:
        """Words of ``text`` no training caption contains, in order of appearance."""
        seen: list[str] = []
        for w in WORD.findall(text.lower()):
            if w not in self.vocabulary and w not in seen:
                seen.append(w)
        return seen


def _plain_words(item: str) -> set[str]:
    return words(item.replace("{d}", " ").replace("{np}", " ").replace("{post}", " "))


def _word_counts(items: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        for w in _plain_words(item):
            counts[w] = counts.get(w, 0) + 1
    return counts


def _starts_with_vowel_sound(text: str) -> bool:
    first = text.split(" ", 1)[0].split("-", 1)[0]
    if first in ("8", "eight", "eleven"):
        return True
    return first[:1] in "aeiou" and not first.startswith(("one", "uni", "use"))


def random_request(rng: random.Random, *, digit: int | None = None, p_digit: float = 0.9, p_attribute: float = 0.5,
                   bins: Mapping[str, int] | None = None) -> Request:
    """A request as training draws it: the digit usually named, each attribute named with ``p_attribute``.

    ``bins`` are the example's true bins; only the named ones enter the request.
    """
    named_digit = digit if digit is not None and rng.random() < p_digit else None
    named = {a: b for a, b in (bins or {}).items() if rng.random() < p_attribute}
    if named_digit is None and not named:
        if digit is not None:
            named_digit = digit
        elif bins:
            first = next(iter(bins))
            named = {first: bins[first]}
    return Request(named_digit, named)
