"""What every web feature shares, below them all: the request's services (context.py),
error answers (errors.py), security headers and CSRF (security.py), what every request
goes through first — control characters refused, bounded integer paths (edge.py) — form
field caps and ASCII numbers (forms.py), rate limits (limits.py) and Jinja filters
(filters.py). Nothing here imports a feature."""
