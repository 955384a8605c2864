#!/usr/bin/env python3
"""The commands in the docs name tools and options that exist.

  docs_commands_test.py BUILD_DIR

Every shell command in README.md and docs/*.md code blocks (indented or fenced) that runs one of
synwall's scripts (scripts/, bench/) or tools (synwall, synwall-gen, synwall-sim, synwall-pcapgen,
by name or under build/apps/) is checked: the script exists and is executable, and every long
option on the line is one that the tool's own --help lists (for DPDK tools, the options after
`--`; the EAL's before it are DPDK's). A renamed option or a removed script fails here instead of
in a reader's terminal. The commands the test and bench scripts run themselves (the demo, the
embedding example, dumpcap) are also exercised there.
One "PASS name" / "FAIL name: why" line per command.
"""
import glob
import os
import re
import shlex
import subprocess
import sys

BUILD = os.path.abspath(sys.argv[1])
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = {"synwall", "synwall-gen", "synwall-sim", "synwall-pcapgen"}
DPDK_TOOLS = {"synwall", "synwall-gen"}
failures = 0
help_cache = {}


def report(name, ok, why=""):
    global failures
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else ": " + why), flush=True)
    failures += 0 if ok else 1


def code_lines(path):
    """(line number, command) for each shell line of the file's code blocks, continuations joined."""
    out, fence, pending, start = [], None, "", 0
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.rstrip("\n")
        if line.lstrip().startswith("```"):
            lang = line.strip()[3:].strip()
            fence = None if fence is not None else lang
            continue
        in_code = (fence is not None and fence in ("", "sh", "bash", "shell", "console")) or (
            fence is None and line.startswith("    ") and line.strip())
        if not in_code:
            pending = ""
            continue
        text = line.strip()
        if not pending:
            start = n
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        out.append((start, pending + text))
        pending = ""
    return out


def tool_help(argv0):
    if argv0 not in help_cache:
        r = subprocess.run([argv0, "--help"], capture_output=True, text=True, timeout=60)
        help_cache[argv0] = (r.returncode, r.stdout + r.stderr)
    return help_cache[argv0]


def command_words(cmd):
    cmd = cmd.split(" #")[0].split("|")[0].split(";")[0].split("&&")[0].strip()
    if cmd.startswith("#") or cmd.startswith("$"):
        cmd = cmd.lstrip("$ ").strip()
    try:
        words = shlex.split(cmd)
    except ValueError:
        return []
    while words and (re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]) or words[0] in ("sudo", "exec", "time")):
        words.pop(0)
    if len(words) > 1 and words[0] in ("python3", "python") and words[1].endswith(".py"):
        words.pop(0)  # the script is the command
    if words[:3] == ["ip", "netns", "exec"] and len(words) > 3:
        words = words[4:]
    return words


def check(doc, n, cmd):
    words = command_words(cmd)
    if not words:
        return
    w0 = words[0]
    base = os.path.basename(w0)
    if w0.startswith(("scripts/", "bench/")):
        path = os.path.join(ROOT, w0)
        name = f"{doc}:{n} {w0}"
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            return report(name, False, "no such executable script")
        argv0, opts = path, [w for w in words[1:] if w.startswith("--")]
    elif base in TOOLS and (w0 == base or w0.startswith(("build/apps/", "./build/apps/"))):
        name = f"{doc}:{n} {base}"
        argv0 = os.path.join(BUILD, "apps", base)
        rest = words[1:]
        if base in DPDK_TOOLS:
            rest = rest[rest.index("--") + 1:] if "--" in rest else []
        opts = [w for w in rest if w.startswith("--")]
    else:
        return
    rc, text = tool_help(argv0)
    if rc != 0:
        return report(name, False, f"{argv0} --help exited {rc}")
    missing = [o for o in (w.split("=")[0] for w in opts) if not re.search(re.escape(o) + r"(?![\w-])", text)]
    report(name + (" " + " ".join(opts) if opts else ""), not missing, f"not in its --help: {missing}")


docs = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
for d in docs:
    for n, cmd in code_lines(d):
        check(os.path.relpath(d, ROOT), n, cmd)
print(f"{failures} failures")
sys.exit(min(failures, 100))
