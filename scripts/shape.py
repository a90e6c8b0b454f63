#!/usr/bin/env python3
"""The code's shape, checked in `make lint` so it cannot drift back:

- no function outside tests is longer than 80 lines (src/, core/src/);
- no source file is longer than 450 lines, not counting its tests (src/, core/src/);
- no two source files import each other (every crate of the workspace).

A file's tests are its `#[cfg(test)] mod … { … }` blocks, and files that are only ever
compiled as tests (`#[cfg(test)] mod x;`, with or without `#[path]`). Lengths count lines
as rustfmt lays them out.

"Import" means a `use` of another file's module within the same crate. A module file
(`mod.rs`, `lib.rs`, `main.rs`) declaring and re-exporting its own children is structure,
not a dependency, so edges from a parent to its children are not counted; a child's `use
super::…` of its parent is.
"""

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_FN_LINES = 80
MAX_FILE_LINES = 450
LENGTH_ROOTS = ["src", "core/src"]
# Each crate: its root file.
CRATES = ["src/lib.rs", "core/src/lib.rs", "testkit/src/lib.rs", "tests/e2e/main.rs",
          "bench/load/main.rs"]

FN = re.compile(r"^(\s*)(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)")
MOD_DECL = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?mod\s+(\w+)\s*;")
MOD_BLOCK = re.compile(r"^(\s*)(pub(\([^)]*\))?\s+)?mod\s+(\w+)\s*\{")
PATH_ATTR = re.compile(r'^\s*#\[path\s*=\s*"([^"]+)"\]')
USE = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?use\s+([^;]+);", re.M)


def closing_line(lines, start, indent):
    """The index of the line that closes the item opened at `start` (rustfmt layout)."""
    if lines[start].rstrip().endswith(";"):
        return start
    for index in range(start + 1, len(lines)):
        line = lines[index]
        if line.startswith(indent + "}") and not line.startswith(indent + " "):
            return index
    return len(lines) - 1


def test_ranges(lines):
    """Line ranges of `#[cfg(test)] mod x { … }` blocks and `#[test]` functions."""
    ranges = []
    for index, line in enumerate(lines):
        if line.strip() not in ("#[cfg(test)]", "#[test]"):
            continue
        probe = index + 1
        while probe < len(lines) and lines[probe].strip().startswith("#["):
            probe += 1
        if probe >= len(lines):
            continue
        block = MOD_BLOCK.match(lines[probe]) or FN.match(lines[probe])
        if block:
            ranges.append((index, closing_line(lines, probe, block.group(1))))
    return ranges


def in_ranges(index, ranges):
    return any(start <= index <= end for start, end in ranges)


def module_files(crate_root):
    """Every file of a crate: {path: (module path, is_test_only)}."""
    files = {}

    def visit(path, module, test_only):
        if path in files or not path.exists():
            return
        files[path] = (module, test_only)
        lines = path.read_text().splitlines()
        directory = path.parent if path.name in ("mod.rs", "lib.rs", "main.rs") else path.with_suffix("")
        for index, line in enumerate(lines):
            declared = MOD_DECL.match(line)
            if not declared:
                continue
            name = declared.group(3)
            attributes = []
            probe = index - 1
            while probe >= 0 and lines[probe].strip().startswith("#["):
                attributes.append(lines[probe].strip())
                probe -= 1
            test = test_only or "#[cfg(test)]" in attributes
            explicit = next((PATH_ATTR.match(a) for a in attributes if PATH_ATTR.match(a)), None)
            if explicit:
                child = (path.parent / explicit.group(1)).resolve()
            elif (directory / f"{name}.rs").exists():
                child = directory / f"{name}.rs"
            else:
                child = directory / name / "mod.rs"
            visit(child, module + [name], test)

    visit(ROOT / crate_root, [], False)
    return files


QUALIFIED = re.compile(r"\b(?:crate|super)(?:::\w+)+")


def use_targets(text, module):
    """The module paths a file names, in `use` declarations or as qualified paths in code
    (crate-relative)."""
    code = "\n".join(line.split("//")[0] for line in text.splitlines())
    paths = []
    for match in USE.finditer(code):
        paths.extend(expand(re.sub(r"\s+", "", match.group(3))))
    paths.extend(QUALIFIED.findall(code))
    targets = []
    for path in paths:
        parts = path.split("::")
        if parts[0] == "crate":
            targets.append(parts[1:])
        elif parts[0] in ("super", "self"):
            base = list(module)
            while parts and parts[0] in ("super", "self"):
                if parts.pop(0) == "super":
                    base = base[:-1]
            targets.append(base + parts)
    return targets


def expand(tree):
    """`a::{b, c::{d}}` -> ["a::b", "a::c::d"]."""
    brace = tree.find("{")
    if brace < 0:
        return [tree]
    prefix, inner = tree[:brace], tree[brace + 1:tree.rfind("}")]
    parts, depth, current = [], 0, ""
    for char in inner:
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += char == "{"
        depth -= char == "}"
        current += char
    parts.append(current)
    return [expanded for part in parts if part for expanded in expand(prefix + part)]


def check_lengths(problems):
    for root in LENGTH_ROOTS:
        crate_files = module_files(f"{root}/lib.rs")
        for path, (_, test_only) in sorted(crate_files.items()):
            if test_only:
                continue
            lines = path.read_text().splitlines()
            tests = test_ranges(lines)
            counted = sum(1 for i in range(len(lines)) if not in_ranges(i, tests))
            relative = path.relative_to(ROOT)
            if counted > MAX_FILE_LINES:
                problems.append(f"{relative}: {counted} lines outside tests (at most {MAX_FILE_LINES})")
            for index, line in enumerate(lines):
                found = FN.match(line)
                if not found or in_ranges(index, tests):
                    continue
                end = closing_line(lines, index, found.group(1))
                length = end - index + 1
                if length > MAX_FN_LINES:
                    problems.append(f"{relative}:{index + 1}: fn {found.group(7)} is {length} lines (at most {MAX_FN_LINES})")


def check_circles(problems):
    for crate_root in CRATES:
        files = module_files(crate_root)
        by_module = {tuple(module): path for path, (module, _) in files.items()}
        edges = {}
        for path, (module, _) in files.items():
            is_parent = path.name in ("mod.rs", "lib.rs", "main.rs")
            for target in use_targets(path.read_text(), module):
                # The longest module path that is a file of this crate.
                for cut in range(len(target), -1, -1):
                    other = by_module.get(tuple(target[:cut]))
                    if other is not None:
                        break
                if other is None or other == path:
                    continue
                child_of_this = is_parent and files[other][0][:len(module)] == module
                if not child_of_this:
                    edges.setdefault(path, set()).add(other)
        for a, targets in edges.items():
            for b in targets:
                if a in edges.get(b, set()) and str(a) < str(b):
                    problems.append(f"{a.relative_to(ROOT)} and {b.relative_to(ROOT)} import each other")


def main():
    problems = []
    check_lengths(problems)
    check_circles(problems)
    for problem in problems:
        print(f"shape: {problem}")
    if problems:
        sys.exit(1)
    print("shape: ok (functions ≤ 80 lines, files ≤ 450 lines outside tests, no import circles)")


if __name__ == "__main__":
    main()
