"""One registry mechanism for every pluggable kind: encoders, aligners, generators, copy writers,
safety checks.

A registry maps a backend name to a *loader*: a callable that builds the component (its
signature is the kind's own business, e.g. ``load(args, options) -> Encoder``). Three sources are
consulted in order, and all three go through :meth:`Registry.loader`, so built-ins get no special
treatment a plugin could not have:

1. names registered in-process (tests, notebooks) with :meth:`Registry.register` or the
   :meth:`Registry.registered` context manager, which removes the name again on exit;
2. built-ins, named as ``"module:attribute"`` strings so that a backend's heavy imports
   (diffusers, open_clip) cost nothing until it is used;
3. installed packages' entry points in the kind's group (``scout.encoders``, ``scout.aligners``...).

Whatever goes wrong while finding or importing a loader (an unknown name, a missing optional
dependency, a plugin that raises on import) becomes a :class:`~indexer.errors.ComponentUnavailable`
(or the kind's subclass of it) naming the kind, the backend and what to do, never a traceback.
"""

from __future__ import annotations

import importlib
from contextlib import contextmanager
from importlib.metadata import entry_points
from typing import Callable, Generic, Iterator, TypeVar

from indexer.errors import ComponentUnavailable

L = TypeVar("L", bound=Callable)


class Registry(Generic[L]):
    def __init__(self, kind: str, group: str, builtins: dict[str, str], *,
                 error: type[ComponentUnavailable] = ComponentUnavailable, example: str | None = None):
        self.kind = kind
        self.group = group
        self._builtins = dict(builtins)
        self._registered: dict[str, L] = {}
        self._error = error
        self._example = example

    def register(self, name: str, loader: L) -> None:
        """Add (or replace) a backend in this process."""
        self._registered[name] = loader

    def unregister(self, name: str) -> None:
        self._registered.pop(name, None)

    @contextmanager
    def registered(self, name: str, loader: L) -> Iterator[None]:
        """Register ``name`` for the duration of a ``with`` block (what tests should use), then
        restore whatever was registered under that name before."""
        previous = self._registered.get(name)
        self.register(name, loader)
        try:
            yield
        finally:
            if previous is None:
                self.unregister(name)
            else:
                self.register(name, previous)

    def _entry_points(self):
        return entry_points(group=self.group)

    def names(self) -> list[str]:
        names = set(self._builtins) | set(self._registered)
        names |= {ep.name for ep in self._entry_points()}
        return sorted(names)

    def loader(self, name: str) -> L:
        if name in self._registered:
            return self._registered[name]
        if name in self._builtins:
            module_name, attr = self._builtins[name].split(":")
            try:
                return getattr(importlib.import_module(module_name), attr)
            except ImportError as exc:
                raise self._error(
                    f"The {self.kind} backend {name!r} needs a Python package that is missing: "
                    f"{exc.name or exc}.",
                    hint=f"Install Scout's dependencies again (pip install -e .), or choose another "
                    f"{self.kind}: {', '.join(self.names())}.",
                ) from None
        for ep in self._entry_points():
            if ep.name == name:
                try:
                    return ep.load()
                except Exception as exc:  # a broken plugin must not crash Scout
                    raise self._error(
                        f"The {self.kind} plugin {name!r} ({ep.value}) failed to load: "
                        f"{type(exc).__name__}: {exc}.",
                        hint=f"Reinstall or remove the package that provides it (entry-point group "
                        f"{self.group}).",
                    ) from None
        example = f" Example: {self._example}" if self._example else ""
        raise self._error(
            f"Unknown {self.kind} backend {name!r}.",
            hint=f"Known {self.kind} backends: {', '.join(self.names())}.{example}",
        )
