#!/usr/bin/env python3
"""Max temperature mapper: a weather CSV line (location,date,precipitation,temp_max,...) in,
`year<TAB>temp_max` out. Both fields are the key (stream.num.map.output.key.fields=2), so the
shuffle can sort on the temperature too (secondary sort)."""
import sys

for line in sys.stdin:
    fields = line.rstrip("\n").split(",")
    if len(fields) < 4 or fields[0] == "location" or fields[3] == "":
        sys.stderr.write("reporter:counter:MaxTemperature,skipped,1\n")
        continue
    year = fields[1][:4]
    print(f"{year}\t{fields[3]}")
