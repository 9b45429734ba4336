"""What every web feature shares, below them all: the request's services (context.py),
error answers (errors.py), security headers and CSRF (security.py), Jinja filters
(filters.py). Nothing here imports a feature."""
