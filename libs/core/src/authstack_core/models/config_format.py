"""The config override format (contract §10): how dot-path overrides merge, reset and render.

An override is a JSON object whose keys are dot-paths (``"auth.allowSignUp"``) and whose values
are JSON, objects included (``"auth": {"allowSignUp": false}``); an object value may itself use
dot-paths in its keys. ``null`` removes what the path held. A key covers itself and every path
below it: writing ``"auth"`` replaces whatever the same override, or a lower level, said about
``"auth.*"``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

Override = dict[str, Any]
_MISSING = object()


def _covers(keys: Mapping[str, Any], path: str) -> bool:
    """Whether ``keys`` holds ``path`` itself or one of its ancestors."""
    end = path.find(".")
    while end != -1:
        if path[:end] in keys:
            return True
        end = path.find(".", end + 1)
    return path in keys


def merge_overrides(*overrides: Mapping[str, Any]) -> Override:
    """The overrides laid one over the other, later ones winning.

    Each key of a later override drops the earlier keys it covers (the same path, or one below
    it), then is kept as written: what a higher level says about ``auth`` replaces everything a
    lower one said inside ``auth``, as upstream's ``override()`` does.
    """
    out: Override = {}
    for override in overrides:
        if not override:
            continue
        if out:
            out = {key: value for key, value in out.items() if not _covers(override, key)}
        out.update(override)
    return out


def reset_keys(override: Mapping[str, Any], keys: Iterable[str]) -> Override:
    """``override`` without ``keys`` and everything below them, whether they were written as
    dot-paths or inside an object value. An object emptied by the reset goes too, so that it
    does not go on hiding what lower levels say. Unknown keys are ignored."""
    out = dict(override)
    for key in keys:
        out = _without(out, key)
    return out


def _without(node: Mapping[str, Any], key: str) -> Override:
    out: Override = {}
    for name, value in node.items():
        if name == key or name.startswith(key + "."):
            continue
        if key.startswith(name + ".") and isinstance(value, dict):
            inner = _without(value, key[len(name) + 1 :])
            if value and not inner:
                continue
            out[name] = inner
        else:
            out[name] = value
    return out


def render_override(
    defaults: Mapping[str, Any],
    entry_defaults: Mapping[str, Mapping[str, Any]],
    override: Mapping[str, Any],
) -> dict[str, Any]:
    """The rendered config: ``override`` applied over a copy of ``defaults``.

    Paths are applied shallowest first, so a key always refines its ancestors whatever order the
    stored JSON object came back in. An object value is laid over the defaults of its path; a
    ``null`` puts the default back (or removes the path if it has none). Finally each entry of a
    record listed in ``entry_defaults`` (OAuth providers, trusted domains, ...) gets the fields it
    leaves out.
    """
    out = copy.deepcopy(dict(defaults))
    _apply(out, override, defaults, ())
    for record_path, fields in entry_defaults.items():
        record = _lookup(out, record_path.split("."))
        if not isinstance(record, dict):
            continue
        for entry in record.values():
            if isinstance(entry, dict):
                for name, value in fields.items():
                    entry.setdefault(name, copy.deepcopy(value))
    return out


def _lookup(node: Any, parts: Iterable[str]) -> Any:
    for part in parts:
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _apply(
    target: dict[str, Any],
    override: Mapping[str, Any],
    defaults: Mapping[str, Any],
    prefix: tuple[str, ...],
) -> None:
    for path, value in sorted(override.items(), key=lambda item: item[0].count(".")):
        *parents, leaf = path.split(".")
        node = target
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        full = (*prefix, *parents, leaf)
        default = _lookup(defaults, full)
        if value is None:
            if default is _MISSING:
                node.pop(leaf, None)
            else:
                node[leaf] = copy.deepcopy(default)
        elif isinstance(value, dict):
            base = copy.deepcopy(default) if isinstance(default, dict) else {}
            _apply(base, value, defaults, full)
            node[leaf] = base
        else:
            node[leaf] = copy.deepcopy(value)
