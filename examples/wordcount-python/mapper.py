#!/usr/bin/env python3
"""Word count mapper (Michael G. Noll's Hadoop Streaming tutorial, in Python 3): a line in,
`word<TAB>1` per word out. It also counts its lines and words, once, as Hadoop counters."""
import sys

lines = words = 0
for line in sys.stdin:
    lines += 1
    for word in line.strip().split():
        words += 1
        print(f"{word}\t1")

sys.stderr.write(f"reporter:counter:Wordcount,lines,{lines}\n")
sys.stderr.write(f"reporter:counter:Wordcount,words,{words}\n")
