#!/usr/bin/env python3
"""Every leaf value in values.yaml has a comment right above it that starts with its dotted name
(Helm best practice). Contents of resources, tolerations, updateStrategy and label maps are
Kubernetes shapes, not chart values, and are skipped. usage: values_comments.py values.yaml"""
import re
import sys

SKIP_UNDER = ("resources", "tolerations", "updateStrategy", "labels", "acceleratorNodeLabels",
              "tolerationExemptNamespaces")
lines = open(sys.argv[1]).read().splitlines()
stack = []  # (indent, key)
errors = []
leaves = 0
for i, line in enumerate(lines):
    m = re.match(r"^( *)([A-Za-z][A-Za-z0-9]*):(.*)$", line)
    if not m:
        continue
    indent, key, rest = len(m.group(1)), m.group(2), m.group(3).strip()
    while stack and stack[-1][0] >= indent:
        stack.pop()
    parents = [k for _, k in stack]
    stack.append((indent, key))
    if any(p in SKIP_UNDER for p in parents):
        continue
    path = ".".join(parents + [key])
    # Nested mappings (rest empty and the next line indents deeper with a key) may go uncommented.
    nxt = next((l for l in lines[i + 1:] if l.strip() and not l.strip().startswith("#")), "")
    is_group = rest == "" and re.match(r"^( *)", nxt).end() > indent and not nxt.strip().startswith("-")
    if is_group and key not in SKIP_UNDER:
        continue
    leaves += 1
    j = i - 1
    while j >= 0 and lines[j].strip().startswith("#") and j > 0 and lines[j - 1].strip().startswith("#"):
        j -= 1
    comment = lines[j].strip() if j >= 0 else ""
    if not (comment.startswith(f"# {path} ") or comment.startswith(f"# {path},")):
        errors.append(f"line {i + 1}: {path} lacks a comment starting with '# {path} ' (found {comment!r})")
if leaves < 40:
    errors.append(f"only {leaves} values found; the parser is broken")
print("\n".join(errors))
sys.exit(1 if errors else 0)
