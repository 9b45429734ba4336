"""Listings of occurrences for the pages and the API: the parameters and filters of one
listing (query.py) and a per-process index that answers them fast (index.py)."""

from .index import ListingIndex
from .query import Listing, ListingError

__all__ = ["Listing", "ListingError", "ListingIndex"]
