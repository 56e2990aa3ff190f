#!/usr/bin/env python3
"""Checks that every file and command the manual and the READMEs name exists.

Looks at inline code spans and fenced shell blocks of the given Markdown files:
- a repository path (`scripts/mariadb.sh`, `contracts/metric-record.schema.json`, `mesh/overlays/gke/`)
  must exist;
- `make TARGET` and `make -C DIR TARGET` must name a target of that Makefile;
- a script invoked as `scripts/x.sh ...` or `bash scripts/x.sh` must exist.
Prints every problem and a closing "N passed, N failed" line; exits 1 on any problem.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DOCS = ["README.md", "docs/manual.md"]
TOP_LEVEL = {p.name for p in ROOT.iterdir()} - {".git", ".run", ".env"}
PATH_RE = re.compile(r"^\.?/?([A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.*<>-]+)*/?)$")
MAKE_RE = re.compile(r"(?:^|[\s;&|(])make\s+((?:-[Cf]\s+\S+\s+|[A-Z_]+=\S+\s+)*)([a-z][a-z0-9_-]*)")


def make_targets(makefile: Path):
    targets = set()
    for line in makefile.read_text().splitlines():
        match = re.match(r"^([a-zA-Z0-9_.%/-][a-zA-Z0-9_.%/ -]*?)\s*::?(?!=)", line)
        if match:
            targets.update(match.group(1).split())
    return targets


def code_spans(text):
    blocks = re.findall(r"^```([a-z]*)\n(.*?)^```$", text, flags=re.S | re.M)
    fenced = [body for lang, body in blocks if lang in ("", "sh", "bash", "shell", "console")]
    inline = re.findall(r"(?<!`)`([^`\n]+)`(?!`)", re.sub(r"```.*?```", "", text, flags=re.S))
    return fenced, inline


def check_path(span, problems, doc):
    candidate = span.strip()
    if " " in candidate or "://" in candidate or "<" in candidate or "*" in candidate:
        return 0
    match = PATH_RE.match(candidate)
    if not match or "/" not in candidate.rstrip("/"):
        return 0
    first = match.group(1).split("/")[0]
    if first not in TOP_LEVEL:
        return 0
    if not (ROOT / match.group(1)).exists():
        problems.append(f"{doc}: names `{candidate}`, which does not exist")
    return 1


def check_commands(block, problems, doc):
    checked = 0
    for line in block.splitlines():
        line = line.split("#", 1)[0]
        for flags, target in MAKE_RE.findall(line):
            directory = re.search(r"-C\s+(\S+)", flags)
            makefile = ROOT / (directory.group(1) if directory else ".") / "Makefile"
            checked += 1
            if not makefile.exists():
                problems.append(f"{doc}: `make {flags}{target}`: no {makefile.relative_to(ROOT)}")
            elif target not in make_targets(makefile):
                problems.append(f"{doc}: `make {flags}{target}`: no target {target} in {makefile.relative_to(ROOT)}")
        for script in re.findall(r"(?:^|\s)(?:bash\s+|\./)?((?:scripts|kernel-modules|mesh|locust|tests)/[\w./-]+\.(?:sh|py))", line):
            checked += 1
            if not (ROOT / script).exists():
                problems.append(f"{doc}: runs `{script}`, which does not exist")
    return checked


def main(docs):
    problems, checked = [], 0
    for doc in docs:
        path = ROOT / doc
        if not path.exists():
            problems.append(f"{doc}: missing")
            continue
        fenced, inline = code_spans(path.read_text())
        for block in fenced:
            checked += check_commands(block, problems, doc)
        for span in inline:
            checked += check_path(span, problems, doc) + check_commands(span, problems, doc)
        for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", path.read_text()):
            checked += 1
            if not (path.parent / image).exists():
                problems.append(f"{doc}: image {image} does not exist")
    for problem in problems:
        print(problem)
    print(f"docs-check: {checked - len(problems)} passed, {len(problems)} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or DEFAULT_DOCS))
