#!/usr/bin/env python3
"""Per-table record counts and record digests of ESE databases, read by the
peer dissect.esedb (fox-it, PyPI), as one JSON document on stdout:

    {"FILE": {"tables": {"NAME": {"count": N, "digest": "SHA256"}}}
             | {"error": "TEXT"}, ...}

A record is serialized as the JSON list of [column name, value] pairs in
column order (bytes as hex, other values as JSON or their str()); the
table digest is the sha256 of the sorted record lines joined by newlines.
Two databases with the same digests hold the same records, whatever their
page layout. (A fuller canonical dump, one line per record, is
scripts/canonical_dump.py where present.)

Usage: scripts/table_digests.py FILE...
Exit status 0 even when a file cannot be read (the error is in the
document); 3 when dissect.esedb is not importable.
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
    if isinstance(v, (bytes, bytearray, memoryview)):
        return "x:" + bytes(v).hex()
    if isinstance(v, (list, tuple)):
        return [value(x) for x in v]
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return "f:" + v.hex()
    return "r:" + str(v)


def read(path):
    try:
        with open(path, "rb") as fh:
            db = EseDB(fh)
            tables = {}
            for t in db.tables():
                names = [c.name for c in t.columns]
                lines = []
                for r in t.records():
                    rec = [[n, value(r.get(n))] for n in names]
                    lines.append(json.dumps(rec, sort_keys=True))
                lines.sort()
                digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
                tables[t.name] = {"count": len(lines), "digest": digest}
            return {"tables": tables}
    except Exception as e:  # noqa: BLE001 - report every failure
        return {"error": f"{type(e).__name__}: {e}"}


def main(argv):
    print(json.dumps({p: read(p) for p in argv[1:]}, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
