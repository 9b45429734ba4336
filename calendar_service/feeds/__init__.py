"""iCalendar feeds: selection (query.py), bytes (ical.py), cache (service.py),
HTTP semantics (http.py), routes (routes.py) and subscribe links (links.py)."""
