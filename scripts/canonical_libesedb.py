#!/usr/bin/env python3
"""Value-by-value comparison of OUR `export` with libesedb's `esedbexport`
(Debian libesedb-utils) on ESE databases, through the canonical form of
docs/canonical-records.md ("libesedb"): each of our values is written as
esedbexport writes a cell (tab-separated text, one file per table), the two
cells compared as text, and every difference classified by kind.

Usage: scripts/canonical_libesedb.py --bin PATH/eseutil-rs [--timeout S] FILE...

Output (JSON on stdout): {FILE: {"tables": {NAME: {"records": N,
"values": N, "equal": N, "kinds": {KIND: N}, "samples": {KIND: [...]},
"columns": {KIND: [COLUMN...]}}},
"not_exported": [NAME...]} | {"error": TEXT}}. Kinds (tests/export_libesedb.rs says who is right for each, per the
ESE source): fixed-null, multi-value, datetime, filetime-guess, currency,
float32, long-value, text-prefix, surrogates, binary-as-text,
seven-bit-unicode, default-value, rows (a record on one side only), other (none of these).
"""
import json
import os
import re
import subprocess
import sys
import tempfile


def esc(s):
    out = []
    for ch in s:
        out.append({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}.get(ch, ch))
    return "".join(out)


def guid_bytes_hex(g):
    h = g.replace("-", "")
    d1, d2, d3, rest = h[0:8], h[8:12], h[12:16], h[16:]
    le = lambda x: "".join(reversed([x[i:i + 2] for i in range(0, len(x), 2)]))
    return le(d1) + le(d2) + le(d3) + rest


def cell(v, coltyp):
    """Our JSON value written as esedbexport writes the cell."""
    if v is None:
        return ""
    if isinstance(v, list):
        if coltyp in (10, 12):
            return "; ".join(cell(x, coltyp) for x in v)
        return "".join(cell(x, coltyp) for x in v)
    if isinstance(v, dict):
        if "raw" in v:
            return "raw:%d" % v["raw"]
        return "!" + json.dumps(v, sort_keys=True)
    if isinstance(v, bool):
        return "true" if v else "false"
    if coltyp in (6, 7):
        return "%f" % float(v) if not isinstance(v, str) else v
    if isinstance(v, int):
        return str(v)
    if coltyp == 16:
        return guid_bytes_hex(v)
    if coltyp in (10, 12):
        return esc(v)
    return v


def read_tsv(path):
    with open(path, "rb") as f:
        data = f.read().decode("utf-8", "replace")
    lines = data.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    rows = [l.split("\t") for l in lines]
    return rows[0] if rows else [], rows[1:]


# libfdatetime's FILETIME text, or its form for a value out of range.
DATE = re.compile(r"^([A-Z][a-z]{2} \d\d, \d{4} \d\d:\d\d:\d\d\.\d{9}|\(0x[0-9a-f]{8} 0x[0-9a-f]{8}\))$")


def utf16_text(hexstr):
    try:
        return esc(bytes.fromhex(hexstr).decode("utf-16-le").rstrip("\0"))
    except ValueError:
        return None


def narrowed(hexstr):
    """The low bytes of UTF-16 code units whose high bytes are all zero."""
    try:
        b = bytes.fromhex(hexstr)
    except ValueError:
        return None
    if len(b) % 2 or any(b[1::2]):
        return None
    return b[::2].hex()


def classify(ours, theirs, coltyp, raw, fid):
    """The kind of a difference (see the module docstring)."""
    if fid < 128 and ours == "" and theirs != "":
        return "fixed-null"
    if isinstance(raw, list):
        return "multi-value"
    if coltyp == 8:
        return "datetime"
    if DATE.match(theirs) and coltyp in (9, 15):
        return "filetime-guess"
    if coltyp == 5 and isinstance(raw, int) and raw < 0 and theirs == str(raw & (2**64 - 1)):
        return "currency"
    if coltyp == 6 and theirs == "0.000000":
        return "float32"
    if coltyp in (11, 12) and theirs == "" and ours != "":
        return "long-value"
    if coltyp in (10, 12) and theirs and len(theirs) < len(ours) and ours.startswith(theirs):
        return "text-prefix"
    if coltyp in (10, 12) and len(ours) == len(theirs) and any(ord(c) > 0xFFFF for c in ours):
        return "surrogates"
    if coltyp == 9 and utf16_text(ours) == theirs:
        return "binary-as-text"
    n = narrowed(ours) if coltyp in (9, 11) else None
    if n is not None and theirs in (n, n + "00"):
        return "seven-bit-unicode"
    if coltyp in (9, 10) and theirs == "" and ours != "":
        return "default-value"
    return "other"


def our_tables(binary, path):
    mm = subprocess.run([binary, "mm", path, "--json"], capture_output=True, text=True)
    schema = json.loads(mm.stdout)
    cols = {t["name"]: t["columns"] for t in schema.get("tables", [])}
    ex = subprocess.run([binary, "export", path, "--system"], capture_output=True, text=True)
    rows = {name: [] for name in cols}
    for line in ex.stdout.splitlines():
        rec = json.loads(line)
        rows[rec["table"]].append(rec)
    return cols, rows


def field(name):
    added = ("table", "view", "found", "confidence", "pgno", "itag", "offset")
    return "column." + name if name in added else name


def compare_table(cols, ours, header, theirs):
    t = {"records": len(ours), "values": 0, "equal": 0, "kinds": {}, "samples": {}, "columns": {}}
    idx = [header.index(c["name"]) if c["name"] in header else None for c in cols]

    def note(kind, sample):
        t["kinds"][kind] = t["kinds"].get(kind, 0) + 1
        cs = t["columns"].setdefault(kind, [])
        if sample.get("column") and sample["column"] not in cs:
            cs.append(sample["column"])
        s = t["samples"].setdefault(kind, [])
        if len(s) < 3:
            s.append(sample)

    # Match records by content: ours rendered as cells, theirs as read;
    # first exact matches, then the rest in order.
    ours_cells = [[cell(r.get(field(c["name"])), c["coltyp"]) for c in cols] for r in ours]
    theirs_cells = [[row[i] if i is not None and i < len(row) else "" for i in idx] for row in theirs]
    pool = {}
    for j, row in enumerate(theirs_cells):
        pool.setdefault(tuple(row), []).append(j)
    used = set()
    pairs = []
    rest = []
    for i, row in enumerate(ours_cells):
        js = pool.get(tuple(row))
        if js:
            j = js.pop(0)
            used.add(j)
            pairs.append((i, j))
        else:
            rest.append(i)
    left = [j for j in range(len(theirs_cells)) if j not in used]
    for i, j in zip(rest, left):
        pairs.append((i, j))
    for i in rest[len(left):]:
        note("rows", {"ours_only": ours_cells[i][:8]})
    for j in left[len(rest):]:
        note("rows", {"theirs_only": theirs_cells[j][:8]})
    for i, j in pairs:
        for k, c in enumerate(cols):
            t["values"] += 1
            a, b = ours_cells[i][k], theirs_cells[j][k]
            if a == b:
                t["equal"] += 1
                continue
            raw = ours[i].get(field(c["name"]))
            if isinstance(raw, dict) and "raw" in raw:
                raw = raw["raw"]
            kind = classify(a, b, c["coltyp"], raw, c["id"] & 0xFFFF)
            note(kind, {"column": c["name"], "ours": a[:120], "theirs": b[:120]})
    return t


def compare_file(binary, path, timeout):
    with tempfile.TemporaryDirectory() as d:
        target = os.path.join(d, "x")
        try:
            r = subprocess.run(["esedbexport", "-t", target, path], capture_output=True,
                               text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"error": "esedbexport: no result in %d s" % timeout}
        out = target + ".export"
        if not os.path.isdir(out):
            last = (r.stderr.strip().splitlines() or [""])[-1]
            return {"error": "esedbexport: " + last}
        cols, rows = our_tables(binary, path)
        tables = {}
        exported = set()
        for fname in sorted(os.listdir(out)):
            name = fname.rsplit(".", 1)[0]
            if name not in cols:
                continue
            exported.add(name)
            header, theirs = read_tsv(os.path.join(out, fname))
            tables[name] = compare_table(cols[name], rows[name], header, theirs)
        return {"tables": tables, "not_exported": sorted(set(cols) - exported),
                "exit_status": r.returncode}


def main(argv):
    args = argv[1:]
    if len(args) < 2 or args[0] != "--bin":
        print(__doc__, file=sys.stderr)
        return 2
    binary, rest = args[1], args[2:]
    timeout = 60
    if rest[:1] == ["--timeout"]:
        timeout, rest = int(rest[1]), rest[2:]
    out = {p: compare_file(binary, p, timeout) for p in rest}
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
