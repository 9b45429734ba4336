"""The JSON API (routes.py) and its OpenAPI 3.1 document (openapi.py)."""
