"""A long-form series table (one row per observation) streamed into an array [S, C, T].

A series' rows may lie anywhere in the file and in any time order, so two passes read it
a chunk at a time (`columns.TableFile`). The first gives each series id and channel a
number in the order they are met, counts the observations of every (series, channel)
and checks the times and labels. The second writes each value and its time into arrays
of the final shape, held when they fit in data.memory_mb, else temporary files
(`arrays.nan_array`); then each series is sorted by time, a block of series at a time,
and a repeated time names its row. Only the ids, the counts and one label per series are
held, never the cells.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from maskfuse.config import DataConfig
from maskfuse.data.arrays import MappedArray, nan_array
from maskfuse.data.columns import TableFile
from maskfuse.data.scratch import remove_temp
from maskfuse.data.table_encoding import numbers_of
from maskfuse.errors import DataError

SORT_SERIES = 4096  # series sorted by time at a time


def _columns(table: TableFile, cfg: DataConfig, label: str | None) -> Iterator[tuple[int, dict]]:
    """(first row index, columns) of each chunk: the id, channel and label cells (`ListCells`
    or `ArrowCells`; channel and label None when absent) and the times and values (float64)."""
    named = {cfg.id_column: "series id", cfg.time_column: "numbers", cfg.value_column: "numbers"}
    for column, what in {**named, **({cfg.channel_column: "channel"} if cfg.channel_column else {})}.items():
        if column not in table.names:
            raise DataError(f"{table.path}: no column '{column}' ({what}); columns: {', '.join(table.names)}")
    done = 0
    for chunk in table.chunks():
        numbers = {
            c: numbers_of(chunk[c], True, lambda i, c=c, f=done: f"{table.row_name(f + i)}, column '{c}'")
            for c in (cfg.time_column, cfg.value_column)
        }
        yield (
            done,
            {
                "id": chunk[cfg.id_column],
                "channel": chunk[cfg.channel_column] if cfg.channel_column else None,
                "time": numbers[cfg.time_column],
                "value": numbers[cfg.value_column],
                "label": chunk[label] if label else None,
            },
        )
        done += len(chunk[cfg.id_column])


def _codes(cells: dict, series: dict, channels: dict) -> tuple[np.ndarray, np.ndarray]:
    """The series and channel numbers of a chunk's rows (new ones numbered as they are met)."""
    s = cells["id"].codes(series)
    return s, np.zeros(len(s), np.int64) if cells["channel"] is None else cells["channel"].codes(channels)


def _first_pass(table: TableFile, cfg: DataConfig, label: str | None) -> tuple[dict, dict, np.ndarray, list | None]:
    """(series id -> number, channel -> number, counts [S, C], one label per series or None)."""
    series, channels, counts = {}, {} if cfg.channel_column else {0: 0}, np.zeros((0, 0), np.int64)
    label_codes, first = {}, np.zeros(0, np.int64)  # each series' label, by its number in label_codes
    for start, cells in _columns(table, cfg, label):
        missing = np.flatnonzero(np.isnan(cells["time"]))
        if len(missing):
            raise DataError(f"{table.row_name(start + int(missing[0]))}: missing time in '{cfg.time_column}'")
        s, c = _codes(cells, series, channels)
        counts = np.pad(counts, ((0, len(series) - counts.shape[0]), (0, len(channels) - counts.shape[1])))
        np.add.at(counts, (s, c), 1)
        if label:
            code = cells["label"].codes(label_codes)
            first = np.pad(first, (0, len(series) - len(first)), constant_values=-1)
            met, at = np.unique(s, return_index=True)
            fresh = first[met] < 0
            first[met[fresh]] = code[at[fresh]]
            bad = np.flatnonzero(code != first[s])
            if len(bad):
                i, names = int(bad[0]), list(label_codes)
                raise DataError(f"{table.row_name(start + i)}: series {list(series)[s[i]]!r} has two labels, "
                                f"{names[first[s[i]]]!r} and {names[code[i]]!r}")  # fmt: skip
    if not series:
        raise DataError(f"{table.path}: no rows below the header")
    names = list(label_codes)
    return series, channels, counts, [names[k] for k in first] if label else None


def long_series(
    table: TableFile, cfg: DataConfig, label: str | None
) -> tuple[np.ndarray | MappedArray, list | None, list[str]]:
    """(series [S, C, T] NaN-padded at the end, in the order their ids are first met, channels
    sorted; their raw labels or None; notes): held, or a `MappedArray` of a temporary file."""
    series, channels, counts, labels = _first_pass(table, cfg, label)
    met = list(channels)
    ranks = np.argsort(np.argsort(np.asarray([str(v) for v in met]), kind="stable"))  # channel number -> sorted place
    counts = counts[:, np.argsort(ranks)]
    shape = (len(series), len(channels), int(counts.max()))
    x, mapped = nan_array(shape, np.float32, cfg.memory_mb)
    times, times_file = nan_array(shape, np.float64, cfg.memory_mb)
    filled = np.zeros(shape[0] * shape[1], np.int64)
    for _, cells in _columns(table, cfg, None):
        s, c = _codes(cells, series, channels)
        c = ranks[c]
        key = s * shape[1] + c
        place = filled[key] + _occurrence(key)
        x[s, c, place] = cells["value"]
        times[s, c, place] = cells["time"]
        filled += np.bincount(key, minlength=len(filled))
    for lo in range(0, shape[0], SORT_SERIES):
        block = slice(lo, lo + SORT_SERIES)
        order = np.argsort(times[block], axis=-1, kind="stable")  # padding (NaN) sorts last
        t = np.take_along_axis(times[block], order, -1)
        x[block] = np.take_along_axis(x[block], order, -1)
        repeated = np.argwhere(np.diff(t, axis=-1) == 0)
        if len(repeated):
            k, ch, step = repeated[0]
            sid, value = list(series)[lo + k], float(t[k, ch, step])
            where = _repeat_row(table, cfg, sid, met[int(np.flatnonzero(ranks == ch)[0])], value)
            raise DataError(f"{table.row_name(where)}: series {sid!r} has two values at time {value}")
    if times_file is not None:
        del times
        remove_temp(times_file.path)
    notes = [] if mapped is None else [f"wrote {shape[0]} series into {mapped.path} to read them by row"]
    if mapped is not None:
        x.flush()
    return (x if mapped is None else mapped), labels, notes


def _occurrence(key: np.ndarray) -> np.ndarray:
    """For each entry, how many equal keys come before it."""
    order = np.argsort(key, kind="stable")
    ranked = key[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    within = np.arange(len(key)) - np.repeat(starts, np.diff(np.r_[starts, len(key)]))
    out = np.empty(len(key), np.int64)
    out[order] = within
    return out


def _repeat_row(table: TableFile, cfg: DataConfig, sid, channel, time: float) -> int:
    """The row index of the second observation of series `sid`, `channel` at `time`."""
    seen = 0
    for first, cells in _columns(table, cfg, None):
        chans = [0] * len(cells["time"]) if cells["channel"] is None else cells["channel"].cells
        for i, (k, c, t) in enumerate(zip(cells["id"].cells, chans, cells["time"])):
            seen += k == sid and c == channel and t == time
            if seen == 2:
                return first + i
    raise AssertionError("a repeated time was found, so the file holds it twice")
