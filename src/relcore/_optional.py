"""Lazy imports of optional dependencies, with an error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise ``ImportError`` telling how to install it.

    Examples
    --------
    >>> require("math", "none").sqrt(4.0)
    2.0
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"this feature needs {module.split('.')[0]}, which relcore does not install by "
            f"default; install it with: pip install 'relcore[{extra}]'"
        ) from exc
