"""Print the slowest tests of the JUnit XML files in a folder (CI's durations record)."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def main(folder: str, count: int = 20) -> None:
    timings = []
    for path in sorted(Path(folder).glob("*.xml")):
        for case in ET.parse(path).iter("testcase"):
            name = f"{case.get('classname', '')}::{case.get('name', '')}"
            timings.append((float(case.get("time") or 0), path.stem, name))
    timings.sort(reverse=True)
    print(f"The {min(count, len(timings))} slowest of {len(timings)} tests (seconds, run):")
    for seconds, run, name in timings[:count]:
        print(f"{seconds:8.1f}  {run:<22} {name}")


if __name__ == "__main__":
    main(sys.argv[1], *(int(arg) for arg in sys.argv[2:3]))
