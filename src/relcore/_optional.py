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
        top = module.split(".")[0]
        if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] == top:
            raise ImportError(
                f"this feature needs {top}, which relcore does not install by default; "
                f"install it with: pip install 'relcore[{extra}]'"
            ) from exc
        # installed but broken (say, a pyarrow built for another numpy): its own words
        raise ImportError(
            f"this feature needs {top}, which is installed but failed to import ({exc}); "
            f"reinstall it with: pip install --force-reinstall 'relcore[{extra}]'"
        ) from exc
