#!/usr/bin/env python3
"""Writes man/TOOL.1 (roff, man(7) macros) from `TOOL --help`, so a page
says what the tool says. tests/man_pages_test.sh checks every flag of
every tool in bin/ appears in its page; rerun this after changing a
tool's options:  python3 man/mkman.py bin/TOOL...
"""
import os
import re
import subprocess
import sys

VERSION = "0.1.0"
OPT = re.compile(r"^ {2,6}(?:(-\w), )?(--[\w-]+)(?: (\S+))?(?:\s{2,}(.*))?$")
OPT_SHORT_ONLY = re.compile(r"^  (-\w)(?: (\S+))?(?:\s{2,}(.*))?$")
ENV = re.compile(r"\[(NRO_[A-Z0-9_]+)\]")


def esc(s):
    s = s.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + s if s[:1] in ".'" else s


def lower_first(s):
    """'Poll the kubelet' -> 'poll the kubelet'; 'GETs PATH' stays."""
    return s if s[1:2].isupper() else s[:1].lower() + s[1:]


def paragraphs(lines):
    out, cur = [], []
    for ln in lines:
        if ln.strip():
            cur.append(ln)
        elif cur:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def para(p):
    if any(ln.startswith(" ") for ln in p):
        return [".PP", ".nf"] + [esc(ln) for ln in p] + [".fi"]
    return [".PP"] + [esc(ln) for ln in p]


def split_help(text):
    lines = text.rstrip("\n").split("\n")
    usage = [ln for ln in lines if ln.startswith("usage:")]
    body = [ln for ln in lines if not ln.startswith("usage:")]
    try:
        i = body.index("options:")
    except ValueError:
        return usage, body, [], []
    j = i + 1
    while j < len(body) and body[j].strip():
        j += 1
    return usage, body[:i], body[i + 1:j], body[j:]


def options(lines):
    opts = []
    for ln in lines:
        m = OPT.match(ln)
        s = None if m else OPT_SHORT_ONLY.match(ln)
        if m:
            opts.append([m.group(1), m.group(2), m.group(3), [m.group(4) or ""]])
        elif s:
            opts.append([s.group(1), None, s.group(2), [s.group(3) or ""]])
        elif opts:
            opts[-1][3].append(ln.strip())
    return opts


def page(tool, text):
    usage, desc, opt_lines, tail = split_help(text)
    words = " ".join(ln.strip() for ln in (paragraphs(desc) or [[tool]])[0])
    first = re.split(r"(?<!e\.g)(?<!i\.e)(?<=[a-z)])\. ", words)[0].rstrip(".")
    if len(first) > 64:  # NAME is one short line: cut at a clause
        first = re.split(r", | \(|: |; ", first)[0]
    out = [f'.TH {tool.upper()} 1 "2026-12-01" "node-runtime-observer {VERSION}" "User Commands"',
           ".SH NAME", f"{esc(tool)} \\- {esc(lower_first(first))}", ".SH SYNOPSIS"]
    for u in usage or [f"usage: {tool} [options]"]:
        out += [".nf", esc(u[len("usage: "):]), ".fi"]
    out.append(".SH DESCRIPTION")
    for p in paragraphs(desc):
        out += para(p)
    envs = []
    if opt_lines:
        out.append(".SH OPTIONS")
        for short, long_, arg, d in options(opt_lines):
            names = ", ".join(n for n in (short, long_) if n)
            out += [".TP", f"\\fB{esc(names)}\\fR" + (f" \\fI{esc(arg)}\\fR" if arg else "")]
            text_ = " ".join(x for x in d if x)
            out.append(esc(text_))
            envs += [(e, long_ or short) for e in ENV.findall(text_)]
    exit_p, other = [], []
    for p in paragraphs(tail):
        k = next((i for i, ln in enumerate(p) if ln.startswith("Exit codes")), len(p))
        if p[:k]:
            other.append(p[:k])
        if p[k:]:
            exit_p.append(p[k:])
    for p in other:
        out += para(p)
    if envs:
        out.append(".SH ENVIRONMENT")
        for e, flag in envs:
            out += [".TP", f"\\fB{e}\\fR", f"as \\fB{esc(flag)}\\fR."]
    if exit_p:
        out.append(".SH EXIT STATUS")
        for p in exit_p:
            out += para(p)
    out += [".SH SEE ALSO", "s6\\-svscan(8), docs/operations.md, docs/events.md,",
            "docs/records\\-vocabulary.md in the node\\-runtime\\-observer sources."]
    return "\n".join(out) + "\n"


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    for path in argv[1:]:
        tool = os.path.basename(path)
        text = subprocess.run([path, "--help"], capture_output=True, text=True).stdout
        if not text:
            print(f"mkman: {tool}: no --help output", file=sys.stderr)
            return 1
        with open(os.path.join(here, tool + ".1"), "w") as f:
            f.write(page(tool, text))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
