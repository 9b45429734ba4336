"""The commemoration catalogue: TOML files in, validated pure-Python values out.

Imports neither Flask nor the database, so it can be used (and tested) on its own.
"""

from .agencies import ROLES, Agency
from .categories import CATEGORIES, Category
from .loader import CatalogueError, Problem, expand_paths, load_catalogue, load_text
from .model import Catalogue, CatalogueFile, Commemoration, LunarDay, Precision
from .plans import ACTIVITY_KINDS, Activity, PlanTemplate

__all__ = [
    "ACTIVITY_KINDS",
    "CATEGORIES",
    "ROLES",
    "Activity",
    "Agency",
    "Catalogue",
    "CatalogueError",
    "CatalogueFile",
    "Category",
    "Commemoration",
    "LunarDay",
    "PlanTemplate",
    "Precision",
    "Problem",
    "expand_paths",
    "load_catalogue",
    "load_text",
]
