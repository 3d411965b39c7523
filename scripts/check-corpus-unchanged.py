#!/usr/bin/env python3
"""Checks that every corpus file still has the sha256 facts.jsonl recorded.

Run after the test suite (.ci/run does): evidence is never written, so any
difference is a bug. Corpus: $ESEUTIL_CORPUS, else ../shared/corpus beside
the project. Quiet when all match (-v: a count); exit 0 when all match, 1 on a difference, 2 when the corpus is
missing.
"""
import hashlib
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
corpus = os.environ.get("ESEUTIL_CORPUS") or os.path.join(here, "..", "..", "shared", "corpus")
facts = os.path.join(corpus, "facts.jsonl")
if not os.path.isfile(facts):
    print(f"corpus not found at {corpus}", file=sys.stderr)
    sys.exit(2)
bad = 0
n = 0
with open(facts) as f:
    for line in f:
        if not line.strip():
            continue
        e = json.loads(line)
        h = hashlib.sha256()
        with open(os.path.join(corpus, e["file"]), "rb") as g:
            for block in iter(lambda: g.read(1 << 20), b""):
                h.update(block)
        n += 1
        if h.hexdigest() != e["sha256"]:
            bad += 1
            print(f"changed: {e['file']}", file=sys.stderr)
if bad or "-v" in sys.argv:
    print(f"corpus: {n} files checked, {bad} changed", file=sys.stderr)
sys.exit(1 if bad else 0)
