#!/usr/bin/env python3
"""Counters and status from a stream program: each weather CSV record is counted by its kind
of weather (a Hadoop counter per kind, reported once at the end), a status line says how far
the task is, and rainy days are the output (a map-only job)."""
import sys
from collections import Counter

kinds = Counter()
for n, line in enumerate(sys.stdin, 1):
    fields = line.rstrip("\n").split(",")
    if fields[0] == "location":
        continue
    kinds[fields[-1]] += 1
    if fields[-1] == "rain":
        print(f"{fields[0]}\t{fields[1]}")
    if n % 1000 == 0:
        sys.stderr.write(f"reporter:status:{n} records read\n")

for kind, count in sorted(kinds.items()):
    sys.stderr.write(f"reporter:counter:Weather,{kind},{count}\n")
