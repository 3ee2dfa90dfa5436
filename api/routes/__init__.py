"""One router per resource: search, assets, library (status, examples, index jobs)."""
