"""Will the model fit? Its parameter memory, estimated on the meta device before anything is allocated.

Bounded widths keep each layer sane, but a stack of them can still ask for
more memory than the machine has, which would end in an allocation error or
the OOM killer part-way through building. The networks are built once on
torch's ``meta`` device (shapes only, no memory, no random numbers), their
parameters and buffers counted, and a model that cannot train on this machine
is refused with the estimate.
"""

from __future__ import annotations

import os
from typing import Callable, Iterable

import torch
from torch import nn

from .errors import PluginError, RecipeError

#: training holds the weights, their gradients and Adam's two moments
TRAINING_COPIES = 4
GIB = 2**30


def machine_memory() -> int:
    """Physical memory in bytes (the model is built in CPU memory before it moves to a device)."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def nbytes(module: nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in (*module.parameters(), *module.buffers()))


def check_fits(build: Callable[[], Iterable[tuple[str, nn.Module]]], available: int | None = None) -> None:
    """Build the ``(label, network)`` pairs ``build`` makes on the meta device; refuse them if they cannot train."""
    rng = torch.get_rng_state()
    try:
        with torch.device("meta"):
            parts = list(build())
    except PluginError as error:
        if error.__cause__ is None:  # the plugin's own refusal: the real build would give it too
            raise
        return  # a plugin whose construction needs real tensors: not estimated
    except Exception:
        return
    finally:
        torch.set_rng_state(rng)
    sizes = [(label, nbytes(module)) for label, module in parts]
    total = sum(size for _, size in sizes)
    available = machine_memory() if available is None else available
    if total * TRAINING_COPIES <= available:
        return
    largest = ", ".join(f"{label}: {size / GIB:.1f} GiB" for label, size in sorted(sizes, key=lambda p: -p[1])[:3])
    raise RecipeError(
        f"The model is too large for this machine: its parameters take {total / GIB:.1f} GiB ({largest}); "
        f"training needs about {TRAINING_COPIES}x that, {total * TRAINING_COPIES / GIB:.1f} GiB (weights, "
        f"gradients, Adam's two moments), and this machine has {available / GIB:.1f} GiB of memory.",
        hint="Use smaller widths (hidden layers, channels, latent_dim) or fewer layers.",
    )
