#!/usr/bin/env python3
"""Every section of the API contract a code comment cites exists in docs/.

Citations: `docs/contract.md 2.1` or `contract 2.1` (part 1), and
`docs/contract-part2.md 4.2` or `contract part 2, 4.2` (part 2); "section 0"
and "section 1.4" cite part 1 unless the comment names part 2. Several
numbers may follow one citation ("1.1-1.4, 2.1, 2.2 with section 0").
Exits 1 and lists each citation without a heading."""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
docs = {"contract.md": root / "docs/contract.md", "contract-part2.md": root / "docs/contract-part2.md"}
headings = {
    name: set(re.findall(r"^#{2,4} (\d+(?:\.\d+)?)[. ]", path.read_text(), re.M))
    for name, path in docs.items()
}
# A numbered list item in a section (`11.` under `## 5.`) resolves `5.11`.
for name, path in docs.items():
    section = None
    for line in path.read_text().splitlines():
        m = re.match(r"^## (\d+)\.", line)
        if m:
            section = m.group(1)
        m = re.match(r"^(\d+)\. ", line)
        if m and section:
            headings[name].add(f"{section}.{m.group(1)}")

NUM = r"\d+(?:\.\d+)?"
CITE = re.compile(
    r"(docs/contract-part2\.md|docs/contract\.md|contract part 2,?|contract(?: section)?|section)"
    rf"\s+((?:{NUM})(?:(?:\s*(?:-|,|and|with section|with)\s*)(?:{NUM}))*)")
missing, count = [], 0
for path in sorted((root / "shared").rglob("*.rs")) + sorted((root / "functions").rglob("*.rs")):
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if "//" not in line:
            continue
        comment = line[line.index("//"):]
        part2 = "part 2" in comment or "contract-part2" in comment
        for m in CITE.finditer(comment):
            doc = "contract-part2.md" if part2 or "part2" in m.group(1) or "part 2" in m.group(1) else "contract.md"
            for num in re.findall(NUM, m.group(2)):
                count += 1
                if num not in headings[doc]:
                    missing.append(f"{path.relative_to(root)}:{lineno}: docs/{doc} has no section {num}")
for m in missing:
    print(m)
print(f"contract citations: {count} section references, {len(missing)} unresolved")
sys.exit(1 if missing else 0)
