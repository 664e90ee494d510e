#!/usr/bin/env python3
"""Independent check of generated CSV with Python's csv module (strict RFC 4180 dialect).

Usage: csv_check.py FILE EXPECTED_COLUMNS
Prints "rows=N columns=C" and exits 0 when every record has EXPECTED_COLUMNS fields;
exits 1 naming the first bad record otherwise, 2 when the file cannot be parsed.
"""
import csv
import sys


def main() -> int:
    path, expected = sys.argv[1], int(sys.argv[2])
    rows = 0
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            for number, record in enumerate(csv.reader(handle, strict=True)):
                if len(record) != expected:
                    print(f"record {number}: {len(record)} fields, expected {expected}", file=sys.stderr)
                    return 1
                rows += 1
    except (csv.Error, UnicodeDecodeError) as error:
        print(f"parse error after {rows} records: {error}", file=sys.stderr)
        return 2
    print(f"rows={rows} columns={expected}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
