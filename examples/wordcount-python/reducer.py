#!/usr/bin/env python3
"""Word count reducer (and combiner): `word<TAB>count` lines sorted by word in, one summed
line per word out (Michael G. Noll's Hadoop Streaming tutorial, in Python 3)."""
import sys

current_word = None
current_count = 0
for line in sys.stdin:
    word, _, count = line.rstrip("\n").partition("\t")
    try:
        count = int(count)
    except ValueError:
        # Not a count: skip the line, as the tutorial does.
        continue
    if word == current_word:
        current_count += count
    else:
        if current_word is not None:
            print(f"{current_word}\t{current_count}")
        current_word, current_count = word, count

if current_word is not None:
    print(f"{current_word}\t{current_count}")
