"""Variant batches from a spreadsheet: a CSV file (or a table pasted from a spreadsheet) where each row is
one variant.

Columns: ``video`` (required), ``audio``, ``hook`` (a library name or id; a hook may also be given by its
exact text) and any variant option of :class:`media.variant_options.VariantOptions` (``hook_position``,
``fit``, ...). The option names are read from that model (:func:`option_columns`), never listed here, so a
new option becomes a column by itself. An empty cell means "none" (audio, hook) or the batch's default
(options). Row numbers are spreadsheet rows: the header is row 1, the first variant row 2.

Resolving never creates anything; :func:`resolve_table` reports names that match nothing so the creator
can fix them before the batch starts (:func:`preview`), and :func:`plan_rows` refuses them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from media.assignment import Combo
from media.errors import InvalidInput, LimitExceeded
from media.models import AudioFile, Hook, Video
from media.settings import get_settings
from media.variant_options import VariantOptions

NAME_COLUMNS: tuple[str, ...] = ("video", "audio", "hook")
MAX_TABLE_BYTES = 5 * 1024 * 1024  # a CSV larger than this is refused before parsing
PREVIEW_ROWS = 5


class CsvBatchError(InvalidInput):
    """A spreadsheet that cannot become a batch; the message names the column, row or value."""


def option_columns() -> tuple[str, ...]:
    """Variant option names allowed as columns: the flat keys of :class:`VariantOptions` (its
    ``to_dict()``), i.e. exactly what ``VariantOptions.from_dict`` reads."""
    return tuple(VariantOptions().to_dict())


def allowed_columns() -> tuple[str, ...]:
    """Every column a batch CSV may have: ``video``, ``audio``, ``hook`` and the option columns."""
    return NAME_COLUMNS + tuple(c for c in option_columns() if c not in NAME_COLUMNS)


@dataclass
class Table:
    """A parsed spreadsheet: normalised ``columns`` and ``rows`` of (row number, {column: cell text})."""

    columns: list[str]
    rows: list[tuple[int, dict[str, str]]]


def read_source(file: str | Path | None = None, text: str = "") -> str:
    """The table's text from an uploaded file (path) or pasted ``text`` (the file wins when both).

    Raises :class:`CsvBatchError` when neither is given, the file is missing, larger than 5 MiB or not
    UTF-8 text.
    """
    if file:
        path = Path(file)
        if not path.is_file():
            raise CsvBatchError(f"CSV file not found: {path.name}")
        if path.stat().st_size > MAX_TABLE_BYTES:
            raise LimitExceeded(f"CSV file {path.name} is over {MAX_TABLE_BYTES // (1024 * 1024)} MiB")
        raw = path.read_bytes()
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CsvBatchError(f"CSV file {path.name} is not UTF-8 text (byte {exc.start})") from None
    if len(text.encode("utf-8")) > MAX_TABLE_BYTES:
        raise LimitExceeded(f"pasted table is over {MAX_TABLE_BYTES // (1024 * 1024)} MiB")
    return text.lstrip("\ufeff")


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    first = text.split("\n", 1)[0]
    if "\t" in first:  # a table pasted from a spreadsheet is tab-separated
        return csv.excel_tab
    try:
        return csv.Sniffer().sniff(first, delimiters=",;")
    except csv.Error:
        return csv.excel


def _column_name(cell: str) -> str:
    return "_".join(cell.strip().lower().replace("-", " ").split())


def parse_table(text: str, max_rows: int | None = None) -> Table:
    """Parse CSV text (comma, semicolon or tab separated; first row = column names).

    Column names are matched case-insensitively, spaces read as ``_``. Blank rows are skipped.
    Raises :class:`CsvBatchError` for an empty table, a header with an unnamed, duplicate or unknown column
    (named, with the allowed ones), no ``video`` column, no variant rows or a row with more cells than
    columns; :class:`media.errors.LimitExceeded` for more rows than ``max_rows`` (default the
    ``csv_max_rows`` setting).
    """
    if not text.strip():
        raise CsvBatchError("the CSV is empty: no header row and no variant rows")
    limit = get_settings().csv_max_rows if max_rows is None else max_rows
    reader = csv.reader(io.StringIO(text), _dialect(text))
    try:
        header = next(reader)
        columns = [_column_name(c) for c in header]
        _check_header(columns)
        rows: list[tuple[int, dict[str, str]]] = []
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns):]):
                raise CsvBatchError(f"row {number} has {len(cells)} cells but the header names "
                                    f"{len(columns)} columns")
            rows.append((number, {c: (cells[i].strip() if i < len(cells) else "")
                                  for i, c in enumerate(columns)}))
            if len(rows) > limit:
                raise LimitExceeded(f"the CSV has more than {limit} variant rows (the cap, setting "
                                    "NOVAI_CSV_MAX_ROWS); split it into several batches")
    except csv.Error as exc:
        raise CsvBatchError(f"the CSV cannot be read near line {reader.line_num}: {exc}") from None
    if not rows:
        raise CsvBatchError("the CSV has a header but no variant rows")
    return Table(columns, rows)


def _check_header(columns: list[str]) -> None:
    allowed = allowed_columns()
    for i, name in enumerate(columns, start=1):
        if not name:
            raise CsvBatchError(f"column {i} of the header has no name")
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise CsvBatchError(f"column {duplicates[0]!r} appears more than once")
    unknown = [c for c in columns if c not in allowed]
    if unknown:
        raise CsvBatchError(f"unknown column {unknown[0]!r}" + (f" (and {', '.join(map(repr, unknown[1:]))})"
                                                                if unknown[1:] else "")
                            + f"; allowed columns: {', '.join(allowed)}")
    if "video" not in columns:
        raise CsvBatchError("the CSV needs a 'video' column (a library video name or id per row)")


@dataclass
class _Index:
    """Library items of one kind by id and by lower-cased name (with and without extension)."""

    by_id: dict[str, Any] = field(default_factory=dict)
    by_name: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, row: Any, *names: str) -> None:
        self.by_id[row.id] = row
        for name in {n.strip().lower() for n in names if n and n.strip()}:
            self.by_name.setdefault(name, []).append(row)

    def find(self, value: str) -> tuple[Any | None, str | None]:
        """(row, None) or (None, why it does not match)."""
        if value in self.by_id:
            return self.by_id[value], None
        matches = self.by_name.get(value.strip().lower(), [])
        if len(matches) == 1:
            return matches[0], None
        if matches:
            return None, f"matches {len(matches)} items; use one's id"
        return None, "matches nothing"


def _library_index() -> dict[str, _Index]:
    from media import hooks, library

    index = {"video": _Index(), "audio": _Index(), "hook": _Index()}
    for video in library.list_items("video"):
        index["video"].add(video, video.name, Path(video.name).stem)
    for audio in library.list_items("audio"):
        index["audio"].add(audio, audio.name, Path(audio.name).stem)
    for hook in hooks.list_hooks():
        index["hook"].add(hook, hook.text)
    return index


@dataclass
class ResolvedRow:
    """One spreadsheet row resolved: library rows (None when the cell is empty or unmatched), the row's
    option cells, its effective options (or the option error) and its problems."""

    row: int
    cells: dict[str, str]
    video: Video | None = None
    audio: AudioFile | None = None
    hook: Hook | None = None
    options: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    unmatched: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Plain data for the preview: row, each name column as ``{value, id, name}``, option cells,
        problems."""
        out: dict[str, Any] = {"row": self.row}
        for column in NAME_COLUMNS:
            item = getattr(self, column)
            value = self.cells.get(column, "")
            out[column] = {"value": value, "id": item.id if item else None,
                           "name": (item.text if column == "hook" else item.name) if item else None}
        out["options"] = {k: v for k, v in self.cells.items() if k not in NAME_COLUMNS and v != ""}
        out["problems"] = list(self.problems)
        return out


def resolve_table(table: Table, options: dict[str, Any] | None = None) -> list[ResolvedRow]:
    """Resolve every row against the library and validate its options over the batch ``options``.

    Never raises for a bad row: each :class:`ResolvedRow` lists its problems (unmatched or ambiguous
    names, a bad option value) so a preview can show them all.
    """
    base = dict(options or {})
    index = _library_index()
    resolved = []
    for number, cells in table.rows:
        item = ResolvedRow(number, cells)
        for column in NAME_COLUMNS:
            value = cells.get(column, "")
            if not value:
                if column == "video":
                    item.problems.append(f"row {number}: the video cell is empty")
                continue
            row, why = index[column].find(value)
            if row is None:
                item.problems.append(f"row {number}: {column} {value!r} {why}")
                item.unmatched.append({"row": number, "column": column, "value": value, "why": why})
            setattr(item, column, row)
        row_options = {k: v for k, v in cells.items() if k not in NAME_COLUMNS and v != ""}
        try:
            item.options = VariantOptions.from_dict({**base, **row_options}).to_dict()
        except (ValueError, TypeError) as exc:
            item.problems.append(f"row {number}: {exc}")
        resolved.append(item)
    return resolved


def preview(file: str | Path | None = None, text: str = "", options: dict[str, Any] | None = None,
            rows: int = PREVIEW_ROWS) -> dict[str, Any]:
    """How a spreadsheet would become a batch, before it starts.

    Returns ``{total, columns, rows: [summary of the first ``rows`` rows], unmatched: [{row, column, value,
    why}] over all rows, problems: [message] over all rows, ok}``. Raises :class:`CsvBatchError` /
    :class:`LimitExceeded` for a table that cannot be read at all (see :func:`parse_table`).
    """
    table = parse_table(read_source(file, text))
    resolved = resolve_table(table, options)
    return {
        "total": len(resolved), "columns": table.columns,
        "rows": [r.summary() for r in resolved[:max(0, rows)]],
        "unmatched": [u for r in resolved for u in r.unmatched],
        "problems": [p for r in resolved for p in r.problems],
        "ok": not any(r.problems for r in resolved),
    }


@dataclass
class CsvPlan:
    """A spreadsheet ready to become a batch: one combo per row and, by batch index, the snapshot extras
    (``row``: spreadsheet row number, ``options``: the variant's effective options)."""

    combos: list[Combo]
    extras: dict[int, dict[str, Any]]


def plan_rows(file: str | Path | None = None, text: str = "", options: dict[str, Any] | None = None) -> CsvPlan:
    """Parse and resolve a spreadsheet; refuse it when any row has a problem.

    Raises :class:`CsvBatchError` naming up to 10 problems (names that match nothing, bad option values)
    and how many more there are; :class:`LimitExceeded` over the row cap.
    """
    resolved = resolve_table(parse_table(read_source(file, text)), options)
    problems = [p for r in resolved for p in r.problems]
    if problems:
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise CsvBatchError("the CSV cannot start a batch: " + "; ".join(problems[:10]) + more)
    combos, extras = [], {}
    for j, r in enumerate(resolved):
        combos.append(Combo(j, r.video.id, r.audio.id if r.audio else None, r.hook.id if r.hook else None))
        extras[j] = {"row": r.row, "options": r.options}
    return CsvPlan(combos, extras)


def template_csv(example_rows: int = 2) -> str:
    """A CSV template: every allowed column, then up to ``example_rows`` example rows filled with library
    names when the library has items (else placeholder names) and the default option values."""
    from media import hooks, library

    defaults = VariantOptions().to_dict()
    videos = [v.name for v in library.list_items("video")][:example_rows] or ["my_video.mp4"]
    audios = [a.name for a in library.list_items("audio")][:example_rows] or ["my_track.mp3"]
    hook_texts = [h.text for h in hooks.list_hooks()][:example_rows] or ["Wait for the end..."]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = allowed_columns()
    writer.writerow(columns)
    for j in range(max(1, example_rows)):
        names = {"video": videos[j % len(videos)], "audio": audios[j % len(audios)],
                 "hook": hook_texts[j % len(hook_texts)]}
        writer.writerow([names.get(c, "" if defaults.get(c) is None else _cell(defaults[c])) for c in columns])
    return out.getvalue()


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


def write_template(dest: Path) -> Path:
    """Write :func:`template_csv` to ``dest`` (UTF-8); returns ``dest``."""
    dest.write_text(template_csv(), encoding="utf-8")
    return dest
