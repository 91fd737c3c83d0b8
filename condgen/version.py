"""condgen's version: a leaf, so what records it (checkpoints, eval.json, scaffolded plugins) need not import the API."""

__version__ = "0.1.0"
