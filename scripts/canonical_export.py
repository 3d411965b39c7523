#!/usr/bin/env python3
"""Canonical per-record dump of ESE databases as read by OUR `export`
(eseutil-rs export --system), in the serialization of
docs/canonical-records.md, so that it can be compared with
scripts/canonical_dump.py (the peer dissect.esedb) table by table.

Usage: scripts/canonical_export.py --bin PATH/eseutil-rs [--digests-only] FILE...

The column list comes from `eseutil-rs mm FILE --json`; the values from
`eseutil-rs export FILE --system` (JSON Lines on stdout). Mapping of our
JSON values to the canonical forms (by the column's JET_coltyp):

  null -> null; Bit true/false -> 1/0; integers as they are;
  IEEESingle/IEEEDouble -> "f:" + float.hex(); DateTime {"raw": N} -> N
  (the peer returns DateTime as the raw int64); Binary/LongBinary hex ->
  "x:" + hex; Text/LongText -> "t:" + text; GUID (canonical text) ->
  "t:" + text (the peer returns str(uuid)); arrays element-wise;
  {"scheme": S, "raw_hex": H} -> "!undecoded:" + S;
  {"error": E} -> "!error:eseutil-rs".

Each table also carries "deleted": the flag-deleted leaf nodes `mm`
counts, which `export` skips (they are not records) and the peer yields.

Exit status 0 (a file our export cannot read has "error" in the document).
"""
import hashlib
import json
import subprocess
import sys

FLOAT_TYPES = (6, 7)
BINARY_TYPES = (9, 11)


def canon(v, coltyp):
    if v is None:
        return None
    if isinstance(v, list):
        return [canon(x, coltyp) for x in v]
    if isinstance(v, dict):
        if "scheme" in v:
            return "!undecoded:" + v["scheme"]
        if "error" in v:
            return "!error:eseutil-rs"
        if "raw" in v:
            return v["raw"]
        return "r:" + json.dumps(v)
    if isinstance(v, bool):
        return int(v)
    if coltyp in FLOAT_TYPES:
        return "f:" + float(v).hex()
    if isinstance(v, int):
        return v
    if coltyp in BINARY_TYPES:
        return "x:" + v
    if isinstance(v, str):
        return "t:" + v
    return "r:" + str(v)


# Fields export adds to a line; a column of such a name comes as
# "column.NAME" (docs/canonical-records.md, "Added fields").
ADDED_FIELDS = ("view", "found", "confidence", "pgno", "itag", "offset")


def column_name(key):
    if key.startswith("column.") and key[len("column."):] in ADDED_FIELDS + ("table",):
        return key[len("column."):]
    return key


def sha(s):
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


def dump(binary, path, digests_only):
    mm = subprocess.run([binary, "mm", path, "--json"], capture_output=True, text=True)
    try:
        schema = json.loads(mm.stdout)
    except ValueError:
        return {"error": "mm: " + mm.stderr.strip()}
    ex = subprocess.run([binary, "export", path, "--system"], capture_output=True, text=True)
    if ex.returncode not in (0, 1):
        return {"error": "export: " + ex.stderr.strip()}
    tables = {}
    types = {}
    for t in schema.get("tables", []):
        cols = sorted(t["columns"], key=lambda c: c["id"])
        types[t["name"]] = {c["name"]: c["coltyp"] for c in cols}
        tables[t["name"]] = {
            "columns": [[c["id"], c["name"], c["coltyp"]] for c in cols],
            "deleted": t.get("deleted_records", 0),
            "records": [],
        }
    for line in ex.stdout.splitlines():
        rec = json.loads(line)  # key order kept: "table", then the columns
        table = rec.pop("table")
        ty = types[table]
        for k in ADDED_FIELDS:
            rec.pop(k, None)  # export's own fields, not columns
        vals = [canon(v, ty[column_name(k)]) for k, v in rec.items()]
        tables[table]["records"].append(json.dumps(vals, separators=(",", ":"), ensure_ascii=True))
    for t in tables.values():
        lines = sorted(t["records"])
        t["count"] = len(lines)
        t["digest"] = sha("\n".join(lines))
        t["records"] = [sha(x) for x in lines] if digests_only else lines
    return {"tables": tables, "exit_status": ex.returncode, "stderr": ex.stderr}


def main(argv):
    args = argv[1:]
    if len(args) < 2 or args[0] != "--bin":
        print(__doc__, file=sys.stderr)
        return 2
    binary = args[1]
    rest = args[2:]
    digests_only = "--digests-only" in rest
    files = [a for a in rest if a != "--digests-only"]
    out = {p: dump(binary, p, digests_only) for p in files}
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
