"""A WordPiece tokenizer (the ``tokenizers`` library) trained on a caption corpus.

Its vocabulary is counted here rather than by the library's ``WordPieceTrainer``:
that trainer breaks ties between equally frequent merges in hash-map order, so
three trainings on one corpus gave three different vocabularies (measured with
tokenizers 0.23), and the same recipe and seed must give the same numbers. The
vocabulary is the corpus's words (normalised and split by the library's own
normaliser and pre-tokeniser), most frequent first and ties in alphabetical
order, plus every single character as a word start and a ``##`` continuation.

Lower-cases and strips accents (``Ünïcode`` reads as ``unicode``); every ASCII
letter and digit is in the vocabulary from the start, so a word never seen in
training is spelt out in sub-words instead of becoming ``[UNK]``. The trained
tokenizer is a JSON string: it is saved inside the model's checkpoint and
loaded from there as data (no code runs).
"""

from __future__ import annotations

import string

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

import condgen

PAD_TOKEN, UNK_TOKEN = "[PAD]", "[UNK]"
SPECIAL = (PAD_TOKEN, UNK_TOKEN)
ALPHABET = sorted(set(string.ascii_lowercase + string.digits + string.punctuation))


def train_tokenizer(corpus: list[str], vocab_size: int, min_frequency: int = 1) -> Tokenizer:
    """WordPiece for ``corpus`` with at most ``vocab_size`` entries (padding is id 0); deterministic."""
    normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True, clean_text=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    counts: dict[str, int] = {}
    for text in corpus:
        for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text)):
            counts[word] = counts.get(word, 0) + 1
    characters = sorted({ch for word in counts for ch in word} | set(ALPHABET))
    pieces = [*SPECIAL, *characters, *(f"##{ch}" for ch in characters)]
    frequent = sorted((w for w, c in counts.items() if c >= min_frequency and len(w) > 1), key=lambda w: (-counts[w], w))
    room = vocab_size - len(pieces)
    if not frequent or room <= 0:
        raise condgen.RecipeError(
            f"The tokenizer's vocabulary is empty: {len(frequent)} words of the captions occur at least "
            f"{min_frequency} times, and vocab_size {vocab_size} leaves room for {max(room, 0)} after the "
            f"{len(pieces)} special tokens and single characters.",
            hint=f"Raise the text encoder's vocab_size above {len(pieces)}, or lower min_frequency.",
        )
    vocab = {token: i for i, token in enumerate([*pieces, *frequent[:room]])}
    tokenizer = Tokenizer(models.WordPiece(vocab=vocab, unk_token=UNK_TOKEN, max_input_chars_per_word=64))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.decoder = decoders.WordPiece()
    return tokenizer


def load_tokenizer(saved: str) -> Tokenizer:
    """A tokenizer from the JSON that ``Tokenizer.to_str()`` wrote (data only)."""
    try:
        return Tokenizer.from_str(saved)
    except Exception as error:  # the library raises its own Exception subclass for any bad JSON
        raise condgen.CheckpointError(f"The tokenizer saved in the checkpoint cannot be read: {error}") from None


def token_ids(tokenizer: Tokenizer, texts: list[str], max_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids, mask): (n, L) int64 ids padded with 0 and the boolean mask of real tokens, L <= ``max_tokens``.

    An empty text gets one ``[UNK]``, so every row has a token to read.
    """
    unk = tokenizer.token_to_id(UNK_TOKEN)
    encoded = [e.ids[:max_tokens] or [unk] for e in tokenizer.encode_batch(texts, add_special_tokens=False)]
    length = max(len(ids) for ids in encoded) if encoded else 1
    ids = torch.zeros(len(encoded), length, dtype=torch.int64)
    for i, row in enumerate(encoded):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.int64)
    return ids, ids != 0
