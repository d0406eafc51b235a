#!/usr/bin/env python3
"""Module-level import cycles of a crate, from `cargo modules dependencies`
(cargo-modules 0.27). Its own `--acyclic` also counts an item and its
associated items as a cycle; this keeps only modules and "uses" edges.

Usage: module-cycles.py PACKAGE [cargo-modules target args, e.g. --lib]
Exits 1 and prints each cycle when there is one."""
import re
import subprocess
import sys

package, target = sys.argv[1], sys.argv[2:] or ["--lib"]
dot = subprocess.run(
    ["cargo", "modules", "dependencies", "--package", package, *target,
     "--no-fns", "--no-types", "--no-traits", "--no-externs", "--no-sysroot", "--no-owns"],
    check=True, capture_output=True, text=True).stdout
modules = set(re.findall(r'^\s*"([^"]+)" \[label="(?:pub(?:\([^)]*\))? )?(?:mod|crate)\|', dot, re.M))
edges = {}
for a, b in re.findall(r'^\s*"([^"]+)" -> "([^"]+)" \[label="uses"', dot, re.M):
    if a in modules and b in modules and a != b:
        edges.setdefault(a, set()).add(b)

cycles, state, stack = [], {}, []
def visit(node):
    state[node] = "open"
    stack.append(node)
    for nxt in sorted(edges.get(node, ())):
        if state.get(nxt) == "open":
            cycles.append(stack[stack.index(nxt):] + [nxt])
        elif nxt not in state:
            visit(nxt)
    stack.pop()
    state[node] = "done"

for m in sorted(modules):
    if m not in state:
        visit(m)
for c in cycles:
    print("cycle: " + " -> ".join(c))
print(f"{package}: {len(modules)} modules, {sum(map(len, edges.values()))} use edges, {len(cycles)} cycles")
sys.exit(1 if cycles else 0)
