"""sqlite-utils, imported without pandas.

sqlite-utils imports pandas at import time whenever it is installed, only to map
``pandas.Timestamp`` columns, which Scout never writes. pandas arrives with Ray Data (``--engine
ray``), and importing it costs ~0.45 s of CPU on every command that opens a catalog, a third of
a ``scout search``'s budget. While sqlite-utils loads, ``pandas`` reads as not installed; the
entry is removed again at once, so pandas stays importable for whoever wants it afterwards (Ray
Data, a notebook). If pandas is already loaded, sqlite-utils gets it as usual.
"""

from __future__ import annotations

import importlib
import sys

if "sqlite_utils" in sys.modules or "pandas" in sys.modules:
    sqlite_utils = importlib.import_module("sqlite_utils")
else:
    sys.modules["pandas"] = None  # type: ignore[assignment]  # "import pandas" raises ImportError
    try:
        sqlite_utils = importlib.import_module("sqlite_utils")
    finally:
        if sys.modules.get("pandas", 0) is None:
            del sys.modules["pandas"]

__all__ = ["sqlite_utils"]
