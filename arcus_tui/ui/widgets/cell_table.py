"""A DataTable whose cell updates redraw that cell only.

Textual's `DataTable.update_cell` bumps one counter that is part of every render cache
key, so after any update every visible row renders every one of its cells again (a row
renders all its columns and crops them to the screen). With 200 host columns that is
thousands of cells redrawn for one changed state. `set_cell` instead drops just the
cached renders of that cell, of its row's line, and asks for that row's region only:
the other cells come out of the cache untouched.

It relies on DataTable's private caches (Textual 8.2, the pinned version); when they are
not there it falls back to `update_cell`, which is slower but correct.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable

from textual.cache import LRUCache
from textual.geometry import Region
from textual.widgets import DataTable
from textual.widgets.data_table import CellType, ColumnKey, RowKey


class GroupedCache(LRUCache):
    """An LRU cache that can drop every entry of one group (a cell, a row, a screen line)."""

    def __init__(self, maxsize: int, group: Callable[[Any], Hashable]) -> None:
        super().__init__(maxsize)
        self._group = group
        self._members: dict[Hashable, set] = {}
        self._indexed = 0

    def set(self, key, value) -> None:
        super().set(key, value)
        self._members.setdefault(self._group(key), set()).add(key)
        self._indexed += 1
        if self._indexed > 4 * self.maxsize:
            self._prune()  # the LRU evicts on its own: forget keys it no longer holds

    __setitem__ = set

    def discard_group(self, group: Hashable) -> None:
        for key in self._members.pop(group, ()):
            self.discard(key)

    def clear(self) -> None:
        super().clear()
        self._members.clear()
        self._indexed = 0

    def _prune(self) -> None:
        held = set(self.keys())
        self._members = {g: keys & held for g, keys in self._members.items() if keys & held}
        self._indexed = sum(len(keys) for keys in self._members.values())


class CellTable(DataTable):
    """`DataTable` plus `set_cell`: a cell update that redraws that cell alone."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._rows_at: tuple[int, dict] = (-1, {})
        self._columns_at: tuple[int, tuple[dict, int]] = (-1, ({}, 0))
        self._grouped = all(hasattr(self, name) for name in
                            ("_cell_render_cache", "_row_render_cache", "_line_cache", "_row_renderable_cache"))
        if self._grouped:
            # Key layouts of Textual 8.2: cell (row_key, column_key, ...), row (row_key, ...), line (y, ...).
            self._cell_render_cache = GroupedCache(self._cell_render_cache.maxsize, lambda key: key[:2])
            self._row_render_cache = GroupedCache(self._row_render_cache.maxsize, lambda key: key[0])
            self._line_cache = GroupedCache(self._line_cache.maxsize, lambda key: key[0])

    def set_cell(self, row_key: str, column_key: str, value: CellType) -> None:
        """Put `value` in one cell and redraw only the line of its row (its other cells from cache)."""
        if not self._grouped:
            self.update_cell(row_key, column_key, value)
            return
        row, column = RowKey(row_key), ColumnKey(column_key)
        if row not in self._row_locations or column not in self._column_locations:
            self.update_cell(row_key, column_key, value)  # raises CellDoesNotExist as update_cell does
            return
        self._data[row][column] = value
        row_index = self._row_locations.get(row)
        self._cell_render_cache.discard_group((row, column))
        self._row_render_cache.discard_group(row)
        self._row_renderable_cache.discard((self._update_count, row_index))
        y, height = self._row_lines()[row]
        for line in range(y, y + height):
            self._line_cache.discard_group(line)
        # the row's whole width: DataTable's own region sums every column's width on each call
        self._refresh_region(Region(0, y, max(self.size.width, self.virtual_size.width), height))

    def column_in_view(self, column_key: str) -> bool:
        """Whether any of the column shows on screen now (the fixed columns always do)."""
        spans, fixed_width = self._column_spans()
        start, width, fixed = spans[ColumnKey(column_key)]
        left = self.scroll_offset.x + fixed_width
        return fixed or (start < self.scroll_offset.x + self.size.width and start + width > left)

    def _row_lines(self) -> dict[RowKey, tuple[int, int]]:
        """Row -> (first line, height) in the table's virtual lines, header included."""
        if self._rows_at[0] != self._update_count:
            y = self.header_height if self.show_header else 0
            lines = {}
            for row in self.ordered_rows:
                lines[row.key] = (y, row.height)
                y += row.height
            self._rows_at = (self._update_count, lines)
        return self._rows_at[1]

    def _column_spans(self) -> tuple[dict[ColumnKey, tuple[int, int, bool]], int]:
        """Column -> (x, width, fixed), x in the row of cells DataTable crops to the screen;
        and the width of the fixed columns."""
        if self._columns_at[0] != self._update_count:
            x = fixed_width = 0
            spans = {}
            for index, column in enumerate(self.ordered_columns):
                width = column.get_render_width(self)
                spans[column.key] = (x, width, index < self.fixed_columns)
                fixed_width += width if index < self.fixed_columns else 0
                x += width
            self._columns_at = (self._update_count, (spans, fixed_width))
        return self._columns_at[1]
