#!/usr/bin/env python3
"""Checks that the library's modules import one way only.

Reads every file under src/ (not src/bin), extracts the `crate::` and
`super::` paths its non-test code names (in `use` items and inline paths),
maps each to the top-level module it reaches, and checks them against the
layer order below: a module may use its own layer and the layers before it.

Prints each back-edge (an import from a later layer) with file:line and the
path, then each cycle between top-level modules. Test code (`#[cfg(test)]`
items and test-only module files) is skipped. Exit 0 when clean, 1 otherwise.

Usage: scripts/layers.py [--graph] [SRC_DIR]
  --graph  also print the module graph (who imports whom, with counts)
"""
import os
import re
import sys
from collections import defaultdict

# The layers, lowest first. `error` is the base everyone may use; `file` does
# I/O, so it sits above the parsers (which never do I/O) with the scanners.
# `synth` (test builders) sits just below the CLI: library code that is not a
# test must not use it.
LAYERS = [
    ["error", "lgpos"],
    ["parse"],
    ["checksum", "file", "log", "db", "checksum_scan"],
    ["recovery", "plan"],
    ["report"],
    ["render"],
    ["synth"],
    ["cli"],
]
LEVEL = {m: i for i, group in enumerate(LAYERS) for m in group}
# Submodules that belong to another layer than their parent (by file path).
MOVED = {"log/synth.rs": "synth"}


def strip_comments_and_strings(text):
    """Blanks comments and string/char literals, keeping offsets and newlines."""
    out = []
    i, n = 0, len(text)

    def blank(s):
        return "".join("\n" if c == "\n" else " " for c in s)

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(blank(text[i:j]))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(text[i:j]))
            i = j
        elif (m := re.match(r'b?r(#*)"', text[i:i + 40])) and (
            i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")
        ):
            end = '"' + m.group(1)
            j = text.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append(blank(text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(blank(text[i:j + 1]))
            i = j + 1
        elif c == "'":
            # A char literal ('a', '\n', '\u{1F}') or a lifetime ('a).
            m = re.match(r"'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'", text[i:i + 12])
            if m:
                out.append(blank(m.group(0)))
                i += m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


TEST_CFG = re.compile(r"#\[cfg\(([^\]]*)\)\]")


def is_test_cfg(cond):
    return re.search(r"\btest\b", cond) is not None and "not(test" not in cond.replace(" ", "")


def skip_item(code, i):
    """Returns the end offset of the item starting at `i` (after attributes)."""
    depth = 0
    n = len(code)
    while i < n:
        c = code[i]
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == ";" and depth == 0:
            return i + 1
        elif c == "{" and depth == 0:
            braces = 0
            while i < n:
                if code[i] == "{":
                    braces += 1
                elif code[i] == "}":
                    braces -= 1
                    if braces == 0:
                        return i + 1
                i += 1
            return n
        i += 1
    return n


def strip_test_items(code):
    """Blanks `#[cfg(test)]` items; returns (code, test-only module names)."""
    test_mods = set()
    out = list(code)
    for m in TEST_CFG.finditer(code):
        if not is_test_cfg(m.group(1)):
            continue
        start = m.end()
        # Further attributes before the item.
        while (a := re.match(r"\s*#\[[^\]]*\]", code[start:])):
            start += a.end()
        mm = re.match(r"\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", code[start:])
        if mm:
            test_mods.add(mm.group(1))
        end = skip_item(code, start)
        for k in range(m.start(), end):
            if out[k] != "\n":
                out[k] = " "
    return "".join(out), test_mods


def module_path(rel):
    """src-relative path -> module path list (lib.rs -> [])."""
    parts = rel[:-3].split("/")
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return parts


PATH = re.compile(r"(?<![\w$])(crate|super|self)((?:\s*::\s*super)*)\s*::\s*(\{|\w+)")


def group_heads(code, i):
    """The first identifiers of the elements of the `{...}` group at `i`."""
    heads, depth, j, token_start = [], 0, i, True
    while j < len(code):
        c = code[j]
        if c == "{":
            depth += 1
            token_start = depth == 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                break
        elif c == "," and depth == 1:
            token_start = True
        elif depth == 1 and token_start and (c.isalpha() or c == "_"):
            m = re.match(r"\w+", code[j:])
            heads.append(m.group(0))
            j += m.end()
            token_start = False
            continue
        j += 1
    return heads


def reexports(src):
    """Names the crate root re-exports (`pub use m::{A, B}`) -> module."""
    names = {}
    with open(os.path.join(src, "lib.rs")) as f:
        code = strip_comments_and_strings(f.read())
    for m in re.finditer(r"pub\s+use\s+(\w+)\s*::\s*(\{[^}]*\}|\w+)", code):
        for name in re.findall(r"\w+", m.group(2)):
            names[name] = m.group(1)
    return names


def imports(src):
    """Yields (file, line, from_top, to_top, path text) for each import."""
    roots = reexports(src)
    files = []
    for d, _, fs in os.walk(src):
        for f in fs:
            if f.endswith(".rs"):
                rel = os.path.relpath(os.path.join(d, f), src)
                if not rel.startswith("bin/"):
                    files.append(rel)
    parsed = {}
    test_files = set()
    for rel in sorted(files):
        with open(os.path.join(src, rel)) as f:
            code, mods = strip_test_items(strip_comments_and_strings(f.read()))
        parsed[rel] = code
        base = os.path.dirname(rel) if rel.endswith(("mod.rs", "lib.rs")) else rel[:-3]
        for m in mods:
            test_files.add(os.path.normpath(os.path.join(base, m + ".rs")))
            test_files.add(os.path.normpath(os.path.join(base, m, "mod.rs")))
    for rel, code in parsed.items():
        if rel in test_files or any(rel.startswith(t[:-6] + "/") for t in test_files if t.endswith("mod.rs")):
            continue
        mod = module_path(rel)
        if not mod:
            continue
        own = MOVED.get(rel, mod[0])
        for m in PATH.finditer(code):
            kind, supers, head = m.group(1), m.group(2), m.group(3)
            if kind == "crate":
                base = []
            else:
                up = (1 if kind == "super" else 0) + supers.count("super")
                base = mod[: len(mod) - up] if up <= len(mod) else []
            heads = group_heads(code, m.start(3)) if head == "{" else [head]
            for h in heads:
                if base:
                    target = base[0]
                elif h in LEVEL:
                    target = h
                elif h in roots:
                    target = roots[h]
                else:
                    continue
                line = code.count("\n", 0, m.start()) + 1
                tail = re.match(r"(?:\s*::\s*\w+)*", code[m.end():]).group(0)
                text = re.sub(r"\s+", "", code[m.start():m.end()] + tail)
                if head == "{":
                    text = text[:-1] + "{" + h + "..}"
                yield rel, line, own, target, text


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main(argv):
    show_graph = "--graph" in argv
    args = [a for a in argv if not a.startswith("--")]
    here = os.path.dirname(os.path.abspath(__file__))
    src = args[0] if args else os.path.join(here, "..", "src")
    graph = defaultdict(set)
    counts = defaultdict(int)
    where = {}
    back = []
    unknown = set()
    for rel, line, frm, to, text in imports(src):
        if frm == to:
            continue
        graph[frm].add(to)
        graph.setdefault(to, set())
        counts[(frm, to)] += 1
        where.setdefault((frm, to), f"src/{rel}:{line} {text}")
        if frm not in LEVEL or to not in LEVEL:
            unknown.update(x for x in (frm, to) if x not in LEVEL)
            continue
        if LEVEL[to] > LEVEL[frm]:
            back.append(f"src/{rel}:{line}: {frm} -> {to} ({text})")
    if show_graph:
        for (frm, to), c in sorted(counts.items()):
            print(f"{frm} -> {to}  ({c})")
    for u in sorted(unknown):
        print(f"module without a layer: {u} (add it to LAYERS)")
    for b in back:
        print("back-edge", b)
    found = cycles(graph)
    for comp in found:
        print("cycle:", " <-> ".join(comp))
        for frm in comp:
            for to in sorted(graph[frm] & set(comp)):
                print(f"    {frm} -> {to}: {where[(frm, to)]}")
    bad = len(back) + len(found) + len(unknown)
    if bad or "--quiet" not in argv:
        print(f"{len(back)} back-edge(s), {len(found)} cycle(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
