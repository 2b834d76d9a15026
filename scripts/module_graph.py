#!/usr/bin/env python3
"""The import graph between the top-level groups of a crate, and a check that it has no cycle.

A group is a top-level module of the crate: a directory `src/<group>/` or a file
`src/<group>.rs` (`lib.rs` is the crate's root, not a group). An edge `a -> b` means code in
group `a` names `crate::b::...`, or an item `lib.rs` re-exports from `b` (`crate::Runtime`),
outside comments. Paths through `super::` count where they leave their group.

    scripts/module_graph.py                  # onex-runtime/src: the edges, then OK or the cycles
    scripts/module_graph.py path/to/src ...  # other crates
    scripts/module_graph.py --mermaid        # the graph as a Mermaid flowchart

Exits 1 when the groups import each other in a cycle, naming the groups of each cycle and
one line of code per edge on it.
"""

import re
import sys
from pathlib import Path

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def strip_code(text):
    """The code of a Rust file with comments and string/char literals blanked out (line
    numbers kept), so that paths in docs and messages do not count."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    if text[i] == "\n":
                        out.append("\n")
                    i += 1
            continue
        raw = re.match(r'b?r(#*)"', text[i:])
        if raw:
            end = text.find('"' + raw.group(1), i + raw.end())
            end = n if end < 0 else end + 1 + len(raw.group(1))
            out.append("\n" * text.count("\n", i, end) + '""')
            i = end
            continue
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append("\n" * text.count("\n", i, j) + '""')
            i = j + 1
            continue
        if c == "'":
            m = re.match(r"'(\\.[^']*|[^'\\])'", text[i:])
            if m:
                out.append("' '")
                i += m.end()
                continue
        out.append(c)
        i += 1
    return "".join(out)


def use_tree_leaves(tree):
    """The paths of a `use` tree body (`a::{b, c::{D, E}}`), each as a list of segments."""
    tree = re.sub(r"\s+", "", tree)
    leaves = []

    def walk(prefix, s):
        depth, start, parts = 0, 0, []
        for k, ch in enumerate(s):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                parts.append(s[start:k])
                start = k + 1
        parts.append(s[start:])
        for part in parts:
            if not part:
                continue
            brace = part.find("{")
            if brace >= 0 and part.endswith("}"):
                head = [x for x in part[:brace].split("::") if x]
                walk(prefix + head, part[brace + 1 : -1])
            else:
                leaves.append(prefix + [x.split(" as ")[0] for x in part.split("::") if x])

    walk([], tree)
    return leaves


class Crate:
    def __init__(self, src):
        self.src = Path(src)
        self.groups = sorted(set(
            p.stem if p.is_file() else p.name
            for p in self.src.iterdir()
            if (p.is_dir() and ((p / "mod.rs").exists() or any(p.glob("*.rs"))))
            or (p.suffix == ".rs" and p.name != "lib.rs")
        ))
        self.reexports = self._reexports()

    def _reexports(self):
        """Names `lib.rs` re-exports at the root, with the group each comes from."""
        code = strip_code((self.src / "lib.rs").read_text())
        names = {}
        for m in re.finditer(r"pub\s+use\s+([^;]+);", code):
            for path in use_tree_leaves(m.group(1)):
                if path and path[0] == "crate":
                    path = path[1:]
                if len(path) >= 2 and path[0] in self.groups:
                    names[path[-1]] = path[0]
        return names

    def group_of(self, path):
        rel = path.relative_to(self.src)
        return rel.parts[0] if len(rel.parts) > 1 else rel.stem

    def module_path(self, path):
        """The file's module as segments from the crate root (`exec/mod.rs` -> [exec])."""
        parts = list(path.relative_to(self.src).with_suffix("").parts)
        if parts[-1] == "mod":
            parts.pop()
        return parts

    def target(self, segments, module):
        """The group a path names, or None for this group's own items and other crates."""
        if not segments:
            return None
        if segments[0] == "crate":
            first = segments[1] if len(segments) > 1 else None
        elif segments[0] == "super":
            up = module[:]
            rest = segments
            while rest and rest[0] == "super":
                up = up[:-1]
                rest = rest[1:]
            if up:
                return up[0]
            first = rest[0] if rest else None
        else:
            return None
        if first in self.groups:
            return first
        return self.reexports.get(first)

    def edges(self):
        """{(from, to): (file, line, text)}: one example of each edge."""
        found = {}
        for path in sorted(self.src.rglob("*.rs")):
            if path.name == "lib.rs" and path.parent == self.src:
                continue
            group = self.group_of(path)
            module = self.module_path(path)
            code = strip_code(path.read_text())
            lines = code.split("\n")

            def note(segments, offset):
                to = self.target(segments, module)
                if to and to != group and (group, to) not in found:
                    line = code.count("\n", 0, offset)
                    found[(group, to)] = (path, line + 1, lines[line].strip())

            for m in re.finditer(r"\buse\s+((?:crate|super)\b[^;]*);", code):
                for leaf in use_tree_leaves(m.group(1)):
                    note(leaf, m.start())
            for m in re.finditer(rf"(?<![\w:$])((?:crate|super)(?:::{IDENT})+)", code):
                note(m.group(1).split("::"), m.start())
        return found


def cycles(groups, edges):
    """Strongly connected components of more than one group (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    succ = {g: sorted(b for (a, b) in edges if a == g) for g in groups}

    def visit(v):
        index[v] = low[v] = len(index)
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

    for g in groups:
        if g not in index:
            visit(g)
    return out


def layers(groups, edges):
    """Each group's depth: 0 for groups importing no other, else 1 + the deepest import."""
    depth = {}

    def d(g, seen=()):
        if g in depth:
            return depth[g]
        if g in seen:
            return 0
        deps = [b for (a, b) in edges if a == g]
        depth[g] = 1 + max((d(b, seen + (g,)) for b in deps), default=-1)
        return depth[g]

    for g in groups:
        d(g)
    return depth


def main(argv):
    mermaid = "--mermaid" in argv
    srcs = [a for a in argv if not a.startswith("--")] or ["onex-runtime/src"]
    failed = False
    for src in srcs:
        crate = Crate(src)
        edges = crate.edges()
        found = cycles(crate.groups, edges)
        if mermaid:
            print("flowchart BT")
            for a, b in sorted(edges):
                print(f"    {a} --> {b}")
            continue
        depth = layers(crate.groups, edges)
        print(f"{src}: {len(crate.groups)} groups, {len(edges)} edges (a -> what it imports)")
        for g in sorted(crate.groups, key=lambda g: (depth[g], g)):
            deps = sorted(b for (a, b) in edges if a == g)
            print(f"  [{depth[g]}] {g:<10} -> {', '.join(deps) if deps else '(nothing)'}")
        if found:
            failed = True
            for comp in found:
                print(f"CYCLE between {', '.join(comp)}:", file=sys.stderr)
                for (a, b), (path, line, text) in sorted(edges.items()):
                    if a in comp and b in comp:
                        print(f"  {a} -> {b}: {path}:{line}: {text}", file=sys.stderr)
        else:
            print("  no cycle")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
