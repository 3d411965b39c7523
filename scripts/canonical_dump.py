#!/usr/bin/env python3
"""Canonical per-record dump of ESE databases, read by the peer
dissect.esedb (fox-it, PyPI): every table (the catalog MSysObjects and
MSysObjectsShadow included), every record, every column value, in the
serialization of docs/canonical-records.md. Two databases hold the same
data exactly when their dumps are equal, whatever the page layout.

Output: one JSON document on stdout,

    {"FILE": {"tables": {"NAME": {"columns": [[ID, "NAME", COLTYP], ...],
                                  "count": N,
                                  "digest": "SHA256 of the sorted record lines",
                                  "records": ["LINE", ...]}}}
             | {"error": "TEXT"}, ...}

Usage: scripts/canonical_dump.py [--digests-only] FILE...

`--digests-only` replaces each record line by its sha256. Exit status 0
even when a file cannot be read (the error is in the document); 3 when
dissect.esedb is not importable.
"""
import hashlib
import json
import sys

try:
    from dissect.esedb import EseDB
except ImportError as e:  # pragma: no cover
    print(f"dissect.esedb not importable: {e}", file=sys.stderr)
    sys.exit(3)


def value(v):
    """One column value in its canonical JSON form."""
    if v is None:
        return None
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return "f:" + v.hex()
    if isinstance(v, (bytes, bytearray, memoryview)):
        return "x:" + bytes(v).hex()
    if isinstance(v, str):
        return "t:" + v
    if isinstance(v, (list, tuple)):
        return [value(x) for x in v]
    return "r:" + str(v)


def record_line(rec, columns):
    vals = []
    for c in columns:
        try:
            vals.append(value(rec.get(c.name)))
        except Exception as e:  # the peer's failure on this value
            vals.append("!error:" + type(e).__name__)
    return json.dumps(vals, separators=(",", ":"), ensure_ascii=True)


def sha(s):
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


def dump(path, digests_only):
    try:
        with open(path, "rb") as fh:
            db = EseDB(fh)
            tables = {}
            for t in db.tables():
                columns = sorted(t.columns, key=lambda c: c.identifier)
                lines = sorted(record_line(r, columns) for r in t.records())
                tables[t.name] = {
                    "columns": [[c.identifier, c.name, int(c.type)] for c in columns],
                    "count": len(lines),
                    "digest": sha("\n".join(lines)),
                    "records": [sha(x) for x in lines] if digests_only else lines,
                }
            return {"tables": tables}
    except Exception as e:  # the peer's own failure, reported not raised
        return {"error": f"{type(e).__name__}: {e}"}


def main(argv):
    digests_only = "--digests-only" in argv[1:]
    files = [a for a in argv[1:] if a != "--digests-only"]
    out = {p: dump(p, digests_only) for p in files}
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
