#!/usr/bin/env python3
"""Which activations' kernels changed between two commits: expands every `#[activation]` of the
built-ins (runtime/src/builtin.rs) and of the examples (examples/src/lib.rs) with the macro of
BASE and of the working tree, and compares the generated code with the docs, the printed
formulas and the numbering of temporaries left out (the kernels themselves, the guards, the
parameter handling).

    tools/expansion_diff.py BASE        (from the repository root; BASE a commit)

BASE is checked out in target/expansion-diff/base (a git worktree); the macro's unit tests are
built there and here with their own target folders. A commit older than the expansion printer
(macros/src/expand_print.rs) gets it copied in. Prints one line per activation, `same` or
`CHANGED`, and exits 1 if any changed.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = ["runtime/src/builtin.rs", "examples/src/lib.rs"]


def formulas(root):
    """(name, function text) for every `#[activation]` function in SOURCES, attributes of the
    arguments included, doc comments and the activation attribute itself left out."""
    out = []
    for rel in SOURCES:
        src = open(os.path.join(root, rel)).read()
        pat = r"^[ \t]*#\[(?:crate::)?activation[^\n]*\]\s*\n(?:\s*(?:#\[[^\n]*\]|///[^\n]*)\s*\n)*\s*pub fn (\w+)"
        for m in re.finditer(pat, src, flags=re.M):
            start = src.index("fn " + m.group(1), m.start())
            depth, i = 0, src.index("{", m.end())
            for j in range(i, len(src)):
                depth += {"{": 1, "}": -1}.get(src[j], 0)
                if depth == 0:
                    break
            out.append((f"{rel}:{m.group(1)}", src[start : j + 1]))
    return out


def expand(root, target, text):
    env = dict(os.environ, ACTIGEN_EXPAND=text, CARGO_TARGET_DIR=target)
    cmd = ["cargo", "test", "-q", "-p", "actigen-macros", "--lib", "--", "--ignored",
           "--nocapture", "--test-threads", "1", "print_expansion"]
    r = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"expansion failed in {root}:\n{r.stderr[-2000:]}")
    return r.stdout


def kernels(expansion):
    s = re.sub(r'# \[doc = "(?:[^"\\]|\\.)*"\]', "", expansion)
    s = re.sub(r"const (FORMULA|DERIVATIVES|SECOND_DERIVATIVE|FROM_OUTPUT) [^;]*;", "", s)
    s = re.sub(r"test result:.*|running \d+ tests?|^\.$", "", s, flags=re.M)
    names = {}
    # Temporaries renumbered in order of first use: node ids shift when the macro builds (and
    # drops) nodes that the emitted code does not use.
    return re.sub(r"__([tb])(\d+)", lambda m: names.setdefault(m.group(0), f"__{m.group(1)}{len(names)}"), s).strip()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    base_dir = os.path.join(ROOT, "target", "expansion-diff", "base")
    if os.path.exists(base_dir):
        subprocess.run(["git", "worktree", "remove", "--force", base_dir], cwd=ROOT, check=True)
    subprocess.run(["git", "worktree", "add", "--detach", base_dir, sys.argv[1]], cwd=ROOT,
                   check=True, capture_output=True)
    printer = os.path.join(base_dir, "macros", "src", "expand_print.rs")
    if not os.path.exists(printer):
        with open(os.path.join(ROOT, "macros", "src", "expand_print.rs")) as f, open(printer, "w") as g:
            g.write(f.read())
        with open(os.path.join(base_dir, "macros", "src", "lib.rs"), "a") as f:
            f.write("\n#[cfg(test)]\nmod expand_print;\n")
    base_target = os.path.join(ROOT, "target", "expansion-diff", "base-target")
    here_target = os.path.join(ROOT, "target", "expansion-diff", "here-target")
    changed = 0
    for name, text in formulas(ROOT):
        same = kernels(expand(base_dir, base_target, text)) == kernels(expand(ROOT, here_target, text))
        changed += not same
        print(("same     " if same else "CHANGED  ") + name)
    subprocess.run(["git", "worktree", "remove", "--force", base_dir], cwd=ROOT, check=True)
    sys.exit(1 if changed else 0)


if __name__ == "__main__":
    main()
