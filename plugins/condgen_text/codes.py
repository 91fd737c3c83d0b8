"""Text as a condition tensor: the Unicode code points of each text, zero-padded to a fixed length.

Datasets of captions yield, and ``--text`` prompts become, rows of this form;
the ``text`` conditioner turns them back into strings for its text encoder.
Code points survive float32 exactly (all are below 2**24), so the condition is
a plain float tensor like any other, and any text encoder, with any
tokenizer, can read the original text back.
"""

from __future__ import annotations

import torch

PAD = 0


def encode_texts(texts: list[str], length: int) -> torch.Tensor:
    """(len(texts), length) float32 code points; longer texts are cut at ``length`` characters."""
    rows = torch.zeros(len(texts), length, dtype=torch.float32)
    for i, text in enumerate(texts):
        points = [ord(ch) for ch in text[:length] if ch != "\x00"]
        if points:
            rows[i, : len(points)] = torch.tensor(points, dtype=torch.float32)
    return rows


def decode_texts(rows: torch.Tensor) -> list[str]:
    """The strings ``encode_texts`` wrote (trailing padding dropped)."""
    return ["".join(map(chr, (p for p in row if p != PAD))) for row in rows.to(torch.int64).tolist()]
