"""Colour themes: the palette files of `themes/` turned into Textual `Theme`s.

The theme files are data (TOML with Textual `Theme` fields, see themes/README.md).
They are found next to the package: `arcus_tui/themes/` in an installed wheel,
`<checkout>/themes/` when running from a source checkout.
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable, Optional

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from textual.color import Color, ColorParseError
from textual.theme import BUILTIN_THEMES, Theme

DEFAULT_THEME = "arcus-dark"
FALLBACK_THEME = "textual-dark"
"""Used when the theme files cannot be found (a broken install): the app still starts."""

_COLOUR_KEYS = (
    "primary",
    "secondary",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
    "warning",
    "error",
    "success",
)
_NUMBER_KEYS = ("luminosity_spread", "text_alpha")
_KNOWN_KEYS = frozenset(("name", "dark", "variables", *_COLOUR_KEYS, *_NUMBER_KEYS))
assert _KNOWN_KEYS <= {f.name for f in fields(Theme)}


class ThemeFileError(Exception):
    """A theme file that cannot be used: `FILE: message`."""

    def __init__(self, path: Path, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


class UnknownThemeError(ValueError):
    """`--theme NAME` names no theme; the message lists the ones there are."""

    def __init__(self, name: str, available: Iterable[str]):
        self.name = name
        self.available = list(available)
        close = difflib.get_close_matches(name, self.available, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        super().__init__(f"unknown theme {name!r}{hint}; available themes: {', '.join(self.available)}")


@dataclass
class ThemeSet:
    """The themes arcus-tui ships (in file-name order) and any files that failed to load."""

    themes: dict[str, Theme] = field(default_factory=dict)
    problems: list[ThemeFileError] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """Every theme `--theme` accepts: ours first, then Textual's built-in ones."""
        return list(self.themes) + [name for name in BUILTIN_THEMES if name not in self.themes]

    def resolve(self, name: Optional[str]) -> str:
        """The theme to start with; raises `UnknownThemeError` for a name that is not there."""
        if name is None:
            return DEFAULT_THEME if DEFAULT_THEME in self.themes else FALLBACK_THEME
        if name not in self.names:
            raise UnknownThemeError(name, self.names)
        return name


def themes_dir() -> Optional[Path]:
    """Where the theme files are: the wheel's copy, else the source checkout's folder."""
    package = Path(__file__).resolve().parent.parent  # .../arcus_tui
    installed = package / "themes"
    if installed.is_dir():
        return installed
    checkout = package.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "themes").is_dir():
        return checkout / "themes"
    return None


def load_theme_file(path: Path) -> Theme:
    """One theme file; raises `ThemeFileError` naming the file and what is wrong."""
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ThemeFileError(path, f"cannot read: {getattr(error, 'strerror', None) or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ThemeFileError(path, f"TOML syntax: {error}") from None
    unknown = sorted(set(data) - _KNOWN_KEYS)
    if unknown:
        raise ThemeFileError(path, f"unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(_KNOWN_KEYS))}")
    if "primary" not in data:
        raise ThemeFileError(path, "missing 'primary' (the one colour every theme needs)")
    values: dict[str, Any] = {"name": data.get("name", path.stem)}
    if not isinstance(values["name"], str) or not values["name"]:
        raise ThemeFileError(path, "name must be a non-empty string")
    for key in _COLOUR_KEYS:
        if key in data:
            values[key] = _colour(path, key, data[key])
    for key in _NUMBER_KEYS:
        if key in data:
            if isinstance(data[key], bool) or not isinstance(data[key], (int, float)):
                raise ThemeFileError(path, f"{key} must be a number, not {data[key]!r}")
            values[key] = float(data[key])
    if "dark" in data:
        if not isinstance(data["dark"], bool):
            raise ThemeFileError(path, f"dark must be true or false, not {data['dark']!r}")
        values["dark"] = data["dark"]
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise ThemeFileError(path, "[variables] must map variable names to strings")
    values["variables"] = dict(variables)
    return Theme(**values)


def _colour(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ThemeFileError(path, f"{key} must be a colour string, not {value!r}")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeFileError(path, f"{key}: {value!r} is not a colour") from None
    return value


def load_themes(directory: Optional[Path] = None) -> ThemeSet:
    """Every `*.toml` theme of `directory` (default: `themes_dir()`); bad files become problems."""
    directory = directory if directory is not None else themes_dir()
    result = ThemeSet()
    if directory is None:
        return result
    for path in sorted(directory.glob("*.toml")):
        try:
            theme = load_theme_file(path)
        except ThemeFileError as problem:
            result.problems.append(problem)
        else:
            result.themes[theme.name] = theme
    return result
