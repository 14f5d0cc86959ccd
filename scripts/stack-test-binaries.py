#!/usr/bin/env python3
"""Reads cargo's JSON messages (`cargo test --no-run --message-format=json...`) on stdin and
prints one line per test binary built: its target's kind (`test` for a file of `tests/`,
`lib`, `bin`) and name, its package's folder (where `cargo test` runs it) and the executable,
separated by tabs."""
import json
import os
import sys

for line in sys.stdin:
    try:
        message = json.loads(line)
    except json.JSONDecodeError:
        continue
    if message.get("reason") != "compiler-artifact" or not message.get("executable"):
        continue
    if not message.get("profile", {}).get("test"):
        continue
    folder = os.path.dirname(message["manifest_path"])
    target = message["target"]
    print(f"{target['kind'][0]}\t{target['name']}\t{folder}\t{message['executable']}")
