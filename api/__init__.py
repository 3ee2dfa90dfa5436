"""The edges: the ``scout`` CLI (typer) and the HTTP app. Wiring and presentation only."""
