"""attrs validators and converters shared by the domain value objects."""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

from ._time import require_aware, resolve_zone

INITIATORS: tuple[str, ...] = ("customer", "company")


def non_empty_str(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{attribute.name} must be a non-empty string, got {value!r}")


def optional_non_empty_str(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        non_empty_str(inst, attribute, value)


def aware(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    require_aware(value, attribute.name)


def optional_aware(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        aware(inst, attribute, value)


def finite(_inst: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{attribute.name} must be a finite number, got {value!r}")


def frozen_mapping(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(value or {}))


def valid_initiator(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in INITIATORS:
        raise ValueError(f"{attribute.name} must be 'customer' or 'company', got {value!r}")


def valid_zone(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        try:
            resolve_zone(value)
        except ValueError as exc:
            raise ValueError(f"{attribute.name}: {exc}") from None
