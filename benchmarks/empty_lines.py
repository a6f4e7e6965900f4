"""Would folding `loaders.dataset._has_empty_line` into the CSV read save time? Prints seconds.

    python benchmarks/empty_lines.py FILE.csv [FILE.csv.gz …] [--repeat 3]

`_has_empty_line` reads a CSV file once more before (batches) or after (whole file) pyarrow
reads it. The only way to watch the bytes pyarrow reads is to pass them through Python
(`pa.PythonFile` around the input stream, each block seen by the same test). For each file this
prints, best of `--repeat`: `_has_empty_line` alone, pyarrow's read (every column as text, the
loader's block size and threads), and the read through the watching stream; the fold saves
(check + read) − watched read. Timings are wall-clock seconds on whatever else the machine is
running: compare the three figures of one run, not runs of different days.
"""
from __future__ import annotations

import argparse
import gzip
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from loaders.dataset import BLOCK_BYTES, _has_empty_line  # noqa: E402


class Watch:
    """A binary stream passing its bytes through, noting (as `_has_empty_line` does) whether
    they hold an empty line before the last record."""

    def __init__(self, raw):
        self.raw, self.carry, self.pending, self.found = raw, b"", False, False

    def read(self, n=-1):
        chunk = self.raw.read(n)
        if chunk and not self.found:
            if self.pending and chunk.strip(b"\r\n"):
                self.found = True
            data = self.carry + chunk
            for sep in (b"\n\n", b"\n\r\n"):
                k = data.find(sep)
                if k >= 0:
                    self.found = self.found or bool(data[k + len(sep):].strip(b"\r\n"))
                    self.pending = True
            self.carry = data[-2:]
        return chunk

    def tell(self):
        return self.raw.tell()

    def close(self):
        self.raw.close()

    @property
    def closed(self):
        return self.raw.closed

    def readable(self):
        return True

    def seekable(self):
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for path in args.files:
        comp = "gzip" if path.name.endswith(".gz") else None
        with (gzip.open if comp else open)(path, "rb") as f:
            names = f.readline().decode().strip().split(",")
        options = dict(read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=BLOCK_BYTES),
                       convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}))
        best = {"check": 1e9, "read": 1e9, "watched": 1e9}
        for _ in range(args.repeat):
            t = time.perf_counter()
            found = _has_empty_line(path)
            best["check"] = min(best["check"], time.perf_counter() - t)
            t = time.perf_counter()
            with pa.input_stream(str(path), compression=comp) as s:
                rows = pacsv.read_csv(s, **options).num_rows
            best["read"] = min(best["read"], time.perf_counter() - t)
            t = time.perf_counter()
            with pa.input_stream(str(path), compression=comp) as s:
                watch = Watch(s)
                assert pacsv.read_csv(pa.PythonFile(watch, mode="r"), **options).num_rows == rows
            best["watched"] = min(best["watched"], time.perf_counter() - t)
            assert watch.found == found
        print(f"{path.name}: {path.stat().st_size / 1e9:.2f} GB on disk, {rows:,} rows; best of {args.repeat}: "
              f"_has_empty_line {best['check']:.2f} s, read {best['read']:.2f} s, read through the watch "
              f"{best['watched']:.2f} s; the fold saves {best['check'] + best['read'] - best['watched']:+.2f} s")


if __name__ == "__main__":
    main()
