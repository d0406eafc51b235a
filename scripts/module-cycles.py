#!/usr/bin/env python3
"""Module-level import cycles of a crate, from `cargo modules dependencies`
(cargo-modules 0.27). Its own `--acyclic` also counts an item and its
associated items as a cycle; this keeps only modules and "uses" edges.

It also checks the layering the README promises: the domain and the table
(the storage format) never use the chain's wire types, nor the layers
above them.

Usage: module-cycles.py PACKAGE [cargo-modules target args, e.g. --lib]
Exits 1 and prints each cycle and each forbidden arrow when there is one."""
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
# (layer, layers it must not use), as module paths below the crate.
ABOVE = [
    "chain", "service", "routes", "epoch_stats", "warm", "schedule", "http", "health", "bootstrap",
]
FORBIDDEN = {"domain": ABOVE + ["table"], "table": ABOVE}
root = package.replace("-", "_")
def layer(module):
    parts = module.split("::")
    return parts[1] if len(parts) > 1 and parts[0] == root else None
forbidden = sorted(
    (a, b) for a, bs in edges.items() for b in bs
    if layer(b) in FORBIDDEN.get(layer(a), ()))

for c in cycles:
    print("cycle: " + " -> ".join(c))
for a, b in forbidden:
    print(f"forbidden: {a} -> {b} ({layer(a)} must not use {layer(b)})")
print(f"{package}: {len(modules)} modules, {sum(map(len, edges.values()))} use edges, "
      f"{len(cycles)} cycles, {len(forbidden)} forbidden arrows")
sys.exit(1 if cycles or forbidden else 0)
