#!/usr/bin/env python3
"""arch_test.py - lib/ keeps the layering that lib/README.md states.

A file may use only files of its own folder or of folders below it in the
README's table, and no files may depend on each other in a circle.  "Use"
is either an include of another file's header or a reference to a symbol
another file's object defines (read with nm from the library's archive of
private objects), public functions included.  A header and the .c file of
the same name in the same folder are one unit.  The README's last column,
the folders each folder uses, must be exactly what the code uses.

usage: arch_test.py LIB_SOURCE_DIR PRIVATE_ARCHIVE
       arch_test.py --self-test     (the checks catch what they should)
"""
import os
import re
import subprocess
import sys

PUBLIC_HEADERS = {"autoenc.h", "autoenc_version.h"}
ROOT_FILES = {"meson.build", "autoenc.map", "README.md"}


def read_layers(readme_text):
    """[(folder, declared uses or None)] from the README's table, bottom
    first."""
    rows = []
    for line in readme_text.splitlines():
        m = re.match(r"\|\s*`([a-z0-9_]+)/`\s*\|[^|]*\|([^|]*)\|", line)
        if m:
            uses_text = m.group(2)
            if "nothing" in uses_text:
                uses = set()
            else:
                uses = set(re.findall(r"`([a-z0-9_]+)/`", uses_text))
            rows.append((m.group(1), uses))
    return rows


def unit_of(path):
    """'nn/model.h' -> ('nn', 'model')."""
    folder, name = path.split("/")
    return (folder, os.path.splitext(name)[0])


def unit_name(u):
    return "%s/%s" % u


def include_edges(lib_dir, errors):
    """{(unit, unit): why} from the sources' quoted includes, and the set of
    every unit that has a file."""
    edges, units = {}, set()
    for entry in sorted(os.listdir(lib_dir)):
        full = os.path.join(lib_dir, entry)
        if not os.path.isdir(full):
            if entry not in ROOT_FILES:
                errors.append("lib/%s: sources belong in a folder of lib/, "
                              "not at its top" % entry)
            continue
        for name in sorted(os.listdir(full)):
            sub = os.path.join(full, name)
            if os.path.isdir(sub):
                errors.append("lib/%s/%s: lib/ is one level deep" %
                              (entry, name))
                continue
            if not name.endswith((".c", ".h")):
                continue
            rel = entry + "/" + name
            units.add(unit_of(rel))
            with open(sub, encoding="utf-8") as f:
                text = f.read()
            for inc in re.findall(r'^\s*#\s*include\s+"([^"]+)"', text,
                                  re.M):
                if inc in PUBLIC_HEADERS:
                    continue
                target = inc if "/" in inc else entry + "/" + inc
                if not os.path.isfile(os.path.join(lib_dir, target)):
                    errors.append('lib/%s: #include "%s" is no file of lib/'
                                  % (rel, inc))
                    continue
                edges.setdefault((unit_of(rel), unit_of(target)),
                                 'includes "%s"' % inc)
    return edges, units


def symbol_edges(archive, units, errors):
    """{(unit, unit): why} from what each object uses that another defines.
    Meson names the object of lib/FOLDER/NAME.c 'FOLDER_NAME.c.o'."""
    by_object = {}
    for u in units:
        by_object["%s_%s.c.o" % u] = u
    out = subprocess.run(["nm", "-A", archive], capture_output=True,
                         text=True, check=True).stdout
    defined, used = {}, []
    for line in out.splitlines():
        # "archive:member.o:0000000000000000 T name" or "...:  U name"
        head, _, rest = line.rpartition(":")
        member = os.path.basename(head.split(":")[-1])
        fields = rest.split()
        if len(fields) < 2 or member not in by_object:
            if fields and member.endswith(".o") and member not in by_object:
                errors.append("%s: object of no source in lib/" % member)
                by_object[member] = None
            continue
        kind, sym = fields[-2], fields[-1]
        u = by_object[member]
        if kind == "U":
            used.append((u, sym))
        elif kind.isupper() and kind not in "UW":
            defined[sym] = u
    edges = {}
    for u, sym in used:
        v = defined.get(sym)
        if v is not None and v != u:
            edges.setdefault((u, v), "uses %s" % sym)
    return edges


def cycles(nodes, edges):
    """Strongly connected components of more than one unit (Tarjan)."""
    succ = {n: [] for n in nodes}
    for (a, b) in edges:
        succ.setdefault(a, []).append(b)
        succ.setdefault(b, [])
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in succ[v]:
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

    sys.setrecursionlimit(10000)
    for v in sorted(succ):
        if v not in index:
            visit(v)
    return out


def check(layers, units, edges, errors):
    """Append to errors every broken rule; edges maps (a, b) to why."""
    rank = {folder: i for i, (folder, _) in enumerate(layers)}
    for u in sorted(units):
        if u[0] not in rank:
            errors.append("lib/%s/: a folder that lib/README.md's table "
                          "does not list" % u[0])
            rank[u[0]] = len(rank)
    uses = {folder: set() for folder, _ in layers}
    for (a, b), why in sorted(edges.items()):
        if a == b:
            continue
        if a[0] != b[0]:
            uses.setdefault(a[0], set()).add(b[0])
        if rank[b[0]] > rank[a[0]]:
            errors.append("%s %s, of %s: %s/ is above %s/ in lib/README.md"
                          % (unit_name(a), why, unit_name(b), b[0], a[0]))
    for comp in cycles(units, [e for e in edges if e[0] != e[1]]):
        inside = set(comp)
        links = ["%s -> %s (%s)" % (unit_name(a), unit_name(b), why)
                 for (a, b), why in sorted(edges.items())
                 if a in inside and b in inside and a != b]
        errors.append("files depend on each other in a circle: %s; %s" %
                      (", ".join(unit_name(u) for u in comp),
                       "; ".join(links)))
    for folder, declared in layers:
        actual = uses.get(folder, set())
        if declared is not None and declared != actual:
            errors.append("lib/README.md says %s/ uses %s; it uses %s" %
                          (folder, fmt(declared), fmt(actual)))


def fmt(folders):
    return ", ".join(f + "/" for f in sorted(folders)) or "nothing of ours"


def self_test():
    """The checks must catch an upward use, a circle and a stale README."""
    layers = [("common", set()), ("nn", {"common"}), ("train", {"nn"})]
    units = {("common", "a"), ("nn", "m"), ("nn", "n"), ("train", "t")}
    good = {(("nn", "m"), ("common", "a")): "uses x",
            (("train", "t"), ("nn", "m")): "uses y"}

    def plus(extra):
        edges = dict(good)
        edges.update(extra)
        return edges

    cases = {
        "clean": (good, 0),
        "upward": (plus({(("common", "a"), ("nn", "m")): "uses z"}), None),
        "circle": (plus({(("nn", "m"), ("nn", "n")): "uses p",
                         (("nn", "n"), ("nn", "m")): "uses q"}), None),
        "stale readme": (plus({(("train", "t"), ("common", "a")): "uses r"}),
                         None),
    }
    failures = 0
    for name, (edges, want) in cases.items():
        errors = []
        check(layers, units, edges, errors)
        caught = len(errors) > 0
        expect = want is None
        status = "ok" if caught == expect else "WRONG"
        if caught != expect:
            failures += 1
        print("self-test %-12s %s (%d finding%s)" %
              (name, status, len(errors), "" if len(errors) == 1 else "s"))
    return failures


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        return 1 if self_test() else 0
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    lib_dir, archive = argv[1], argv[2]
    if self_test() != 0:
        return 1
    errors = []
    with open(os.path.join(lib_dir, "README.md"), encoding="utf-8") as f:
        layers = read_layers(f.read())
    if not layers:
        errors.append("lib/README.md: no table of folders found")
    edges, units = include_edges(lib_dir, errors)
    for key, why in symbol_edges(archive, units, errors).items():
        edges.setdefault(key, why)
    check(layers, units, edges, errors)
    for e in errors:
        print("FAIL:", e)
    print("%d folders, %d files (header and source as one), %d "
          "dependencies: %s" % (len(layers), len(units), len(edges),
                                "broken rules above" if errors else
                                "layered, no circles"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
