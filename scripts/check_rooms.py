#!/usr/bin/env python3
"""Checks keeper/'s room map (docs/architecture.md): every #include "keeper/<room>/..." in
keeper/<this room>/ must follow an arrow declared in keeper/CMakeLists.txt (written by CMake to
<build>/keeper_rooms.txt), and a few rules the arrows cannot say:
  - every source file of keeper/ lives in a room (no file directly under keeper/);
  - keeper/daemon/daemon.hpp (the `run --config` entry point) is included only by keeper/cli/.

usage: check_rooms.py ROOMS_FILE [--root DIR] [--pretend FILE=HEADER]...
  --pretend adds an #include of HEADER to FILE for this run (tests use it to show that a
  forbidden include is refused). Exit 0 when clean, 1 with one line per violation otherwise.
"""
import argparse
import pathlib
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"keeper/([^/"]+)/([^"]+)"')
# header -> the rooms (or files) that may include it
ONLY_FROM = {"keeper/daemon/daemon.hpp": {"cli", "keeper/daemon/daemon.cpp"}}


def read_rooms(path):
    rooms = {}
    for line in pathlib.Path(path).read_text().splitlines():
        if not line.strip():
            continue
        name, _, deps = line.partition(":")
        rooms[name.strip()] = set(deps.split())
    return rooms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rooms_file")
    ap.add_argument("--root", default=str(pathlib.Path(__file__).resolve().parent.parent))
    ap.add_argument("--pretend", action="append", default=[])
    args = ap.parse_args()
    rooms = read_rooms(args.rooms_file)
    root = pathlib.Path(args.root)
    pretend = {}
    for p in args.pretend:
        f, _, h = p.partition("=")
        pretend.setdefault(f, []).append(f'#include "{h}"')

    problems = []
    for f in sorted((root / "keeper").rglob("*")):
        if f.suffix not in (".hpp", ".cpp") or not f.is_file():
            continue
        rel = f.relative_to(root).as_posix()
        parts = rel.split("/")
        if len(parts) != 3:
            problems.append(f"{rel}: not in a room (keeper/<room>/file)")
            continue
        room = parts[1]
        if room not in rooms:
            problems.append(f"{rel}: room '{room}' is not declared in keeper/CMakeLists.txt")
            continue
        lines = f.read_text().splitlines() + pretend.get(rel, [])
        for n, line in enumerate(lines, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            target, header = m.group(1), f"keeper/{m.group(1)}/{m.group(2)}"
            if target != room and target not in rooms[room]:
                allowed = ", ".join(sorted(rooms[room])) or "no other room"
                problems.append(f"{rel}:{n}: includes {header}, but {room} may not include "
                                f"{target} (allowed: {allowed})")
            only = ONLY_FROM.get(header)
            if only is not None and room not in only and rel not in only:
                problems.append(f"{rel}:{n}: includes {header}, which only "
                                f"{', '.join(sorted(only))} may include")
    for p in problems:
        print(p)
    if problems:
        print(f"check_rooms: {len(problems)} violation(s)")
        return 1
    print(f"check_rooms: {len(rooms)} rooms, every include follows a declared arrow")
    return 0


if __name__ == "__main__":
    sys.exit(main())
