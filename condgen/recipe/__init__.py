"""Recipes: YAML files that say which plugins make up a model and how to train it."""

from .resolve import ResolvedRecipe, load_recipe, recipe_digest, resolve
from .schema import Recipe

__all__ = ["Recipe", "ResolvedRecipe", "load_recipe", "recipe_digest", "resolve"]
