#!/usr/bin/env python3
"""Max temperature reducer: `year<TAB>temp<TAB>` lines sorted by year, then temperature
descending (numeric), in; the first line of each year holds its maximum, printed as `year<TAB>max`."""
import sys

last_year = None
for line in sys.stdin:
    year, temp = line.rstrip("\n").split("\t")[:2]
    if year != last_year:
        print(f"{year}\t{temp}")
        last_year = year
