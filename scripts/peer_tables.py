#!/usr/bin/env python3
"""Print the tables and record counts of ESE databases as read by the peer
dissect.esedb (fox-it, PyPI), as one JSON document on stdout:

    {"FILE": {"tables": {"NAME": COUNT, ...},
              "schema": {"NAME": {"columns": [[ID, "NAME", COLTYP], ...],
                                  "indexes": {"NAME": [COLUMN_ID, ...]}}}}
             | {"error": "TEXT"}, ...}

Usage: scripts/peer_tables.py FILE...

Used by tests/db.rs to compare `eseutil-rs mm --json` with an independent
reader. Exit status 0 even when a file cannot be read (the error is reported
in the document); 3 when dissect.esedb is not importable.
"""
import json
import sys

try:
    from dissect.esedb import EseDB
except ImportError as e:  # pragma: no cover
    print(f"dissect.esedb not importable: {e}", file=sys.stderr)
    sys.exit(3)


def read(path):
    try:
        with open(path, "rb") as fh:
            db = EseDB(fh)
            tables = {}
            schema = {}
            for t in db.tables():
                n = 0
                for _ in t.records():
                    n += 1
                tables[t.name] = n
                schema[t.name] = {
                    "columns": [[c.identifier, c.name, int(c.type)] for c in t.columns],
                    "indexes": {ix.name: ix.column_ids for ix in t.indexes},
                }
            return {"tables": tables, "schema": schema}
    except Exception as e:  # the peer's own failure, reported not raised
        return {"error": f"{type(e).__name__}: {e}"}


def main(argv):
    out = {p: read(p) for p in argv[1:]}
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
