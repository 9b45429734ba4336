"""The commemoration catalogue: TOML files in, validated pure-Python values out.

Imports neither Flask nor the database, so it can be used (and tested) on its own.
"""

from .categories import CATEGORIES, Category
from .loader import CatalogueError, Problem, expand_paths, load_catalogue, load_text
from .model import Catalogue, CatalogueFile, Commemoration, Precision

__all__ = [
    "CATEGORIES",
    "Catalogue",
    "CatalogueError",
    "CatalogueFile",
    "Category",
    "Commemoration",
    "Precision",
    "Problem",
    "expand_paths",
    "load_catalogue",
    "load_text",
]
