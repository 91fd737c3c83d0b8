"""Text encoders (kind ``text_encoder``): a batch of strings to one vector each, trained with the model.

``gru`` and ``transformer`` read WordPiece tokens (see :mod:`.tokenizer`); the
tokenizer is trained on the dataset's caption corpus the first time it is
needed and travels in the model's ``state_dict`` (``get_extra_state``), so a
run folder carries it and sampling never retrains it. Another plugin can
register its own ``text_encoder`` (a pretrained sentence-embedding model, say):
the ``text`` conditioner only needs ``dim`` and ``forward(texts) -> (n, dim)``.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from tokenizers import Tokenizer
from torch import nn

import condgen

from .config import GRUConfig, TokenizedConfig, TransformerConfig
from .tokenizer import load_tokenizer, token_ids, train_tokenizer

Corpus = Callable[[], list[str]]




def corpus_of(context: condgen.BuildContext) -> Corpus:
    """The dataset's caption corpus, read only when a tokenizer must be trained."""
    dataset = context.dataset
    if dataset is None or not callable(getattr(dataset, "text_corpus", None)):
        name = type(dataset).__name__ if dataset is not None else "none"
        raise condgen.PluginError(
            f"A text encoder needs a dataset of texts (one with text_corpus()) to train its tokenizer; "
            f"this model's dataset is {name}.",
            hint="Use a captions dataset, e.g. data: {name: captions, base: {name: morpho, base: {name: mnist}, "
                 "attributes: [thickness, slant, area]}}.",
        )
    return dataset.text_corpus


class Tokenized(nn.Module):
    """Tokenizer handling shared by the built-in encoders: lazy training, checkpointing, an id cache."""

    CACHE_LIMIT = 500_000

    def __init__(self, config: TokenizedConfig, context: condgen.BuildContext) -> None:
        super().__init__()
        self.config = config
        self._corpus = corpus_of(context)
        self._tokenizer: Tokenizer | None = None
        self._ids: dict[str, list[int]] = {}
        self.embed = nn.Embedding(config.vocab_size, config.embedding, padding_idx=0)

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            self._use(train_tokenizer(self._corpus(), self.config.vocab_size, self.config.min_frequency))
        return self._tokenizer

    def _use(self, tokenizer: Tokenizer) -> None:
        if tokenizer.get_vocab_size() > self.config.vocab_size:
            raise condgen.CheckpointError(
                f"The saved tokenizer has {tokenizer.get_vocab_size()} entries, more than vocab_size "
                f"{self.config.vocab_size}."
            )
        self._tokenizer, self._ids = tokenizer, {}

    def get_extra_state(self) -> dict[str, Any]:
        return {"tokenizer": self.tokenizer.to_str()}

    def set_extra_state(self, state: Any) -> None:
        if not isinstance(state, dict) or not isinstance(state.get("tokenizer"), str):
            raise condgen.CheckpointError("The checkpoint's text encoder state holds no tokenizer.")
        self._use(load_tokenizer(state["tokenizer"]))

    def tokens(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """(ids, mask) for ``texts``; a text's ids are cached (training draws from a finite set of captions)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._ids]
        if missing:
            if len(self._ids) + len(missing) > self.CACHE_LIMIT:
                self._ids = {}
            ids, mask = token_ids(self.tokenizer, missing, self.config.max_tokens)
            for text, row, keep in zip(missing, ids.tolist(), mask.sum(1).tolist()):
                self._ids[text] = row[:keep]
        rows = [self._ids[t] for t in texts]
        ids = torch.zeros(len(rows), max(len(r) for r in rows), dtype=torch.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row, dtype=torch.int64)
        return ids.to(self.embed.weight.device), ids.to(self.embed.weight.device) != 0




class GRUTextEncoder(Tokenized):
    """Token embeddings read by a GRU; the text's vector is the state after its last token."""

    def __init__(self, config: GRUConfig, context: condgen.BuildContext) -> None:
        super().__init__(config, context)
        self.dim = config.dim
        self.rnn = nn.GRU(config.embedding, config.hidden, batch_first=True)
        self.out = nn.Linear(config.hidden, config.dim)

    def forward(self, texts: list[str]) -> torch.Tensor:
        ids, mask = self.tokens(texts)
        states, _ = self.rnn(self.embed(ids))
        last = (mask.sum(1) - 1).clamp_min(0)
        return self.out(states[torch.arange(len(texts)), last])




class TransformerTextEncoder(Tokenized):
    """A Transformer encoder over token and position embeddings; the text's vector is the mean over its tokens."""

    def __init__(self, config: TransformerConfig, context: condgen.BuildContext) -> None:
        super().__init__(config, context)
        if config.embedding % config.heads:
            raise condgen.RecipeError(
                f"The transformer text encoder's embedding ({config.embedding}) must be a multiple of heads "
                f"({config.heads})."
            )
        self.dim = config.dim
        self.position = nn.Embedding(config.max_tokens, config.embedding)
        layer = nn.TransformerEncoderLayer(
            config.embedding, config.heads, config.feedforward, dropout=0.0, batch_first=True
        )
        self.layers = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.out = nn.Linear(config.embedding, config.dim)

    def forward(self, texts: list[str]) -> torch.Tensor:
        ids, mask = self.tokens(texts)
        h = self.embed(ids) + self.position(torch.arange(ids.shape[1], device=ids.device))
        h = self.layers(h, src_key_padding_mask=~mask)
        weights = mask.unsqueeze(-1).to(h.dtype)
        return self.out((h * weights).sum(1) / weights.sum(1).clamp_min(1))
