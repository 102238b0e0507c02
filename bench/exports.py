"""AIMsi Report Wizard exports of a given size, generated the same way every time.

One row per item bought, one to three items per transaction; quoted commas, doubled
quotes, markup characters, a line break inside quotes, `$1,250.00` amounts, blank serial
numbers and lower-case types, as real exports have. Every 50th transaction takes a second
part further down the file (a ticket added to later in the day), so a converter cannot
rely on a transaction's rows being adjacent.
"""

from __future__ import annotations

import random
from pathlib import Path

HEADER = (
    "\ufeffTransaction Date,Transaction Time,Transaction Number,Transaction Type,Amount,"
    "Category,Description,Serial Number\r\n"
)
_TYPES = ("BUY", "PAWN", "pawn", "TRADE", "Consign", "PURCHASE")
_CATEGORIES = ("GUITAR", "AMPLIFIER", "WATCH", "RING", "LAPTOP", "CAMERA", "TOOLS")
_DESCRIPTIONS = (
    "GIBSON LES PAUL STANDARD SUNBURST",
    '"FENDER BLUES JR, WITH FOOTSWITCH"',
    '"ROLEX ""DATEJUST"" 36 <steel> & gold"',
    '"DEWALT 20V DRILL\r\nWITH TWO BATTERIES"',
    "MACBOOK PRO 14 M3 SPACE GRAY",
    '"Bague en or 14 carats, \u00e9meraude"',
)


def write_export(path: Path, size: int, seed: int = 300) -> int:
    """Writes an export of about `size` bytes (at least one transaction); its item rows."""
    pick = random.Random(seed)
    rows = 0
    later: list[str] = []
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        number = 0
        while out.tell() < size or number == 0:
            number += 1
            day = 1 + number // 400 % 28
            seconds = number * 37 % 86_400
            hours, minutes = seconds // 3600, seconds // 60 % 60
            stamp = f"2026-11-{day:02d},{hours:02d}:{minutes:02d}:{seconds % 60:02d}"
            kind = pick.choice(_TYPES)
            for part in range(pick.randint(1, 3)):
                cents = pick.randint(100, 500_000)
                amount = f'"${cents // 100:,}.{cents % 100:02d}"' if part else f"{cents / 100}"
                serial = "" if pick.random() < 0.3 else f"SN{pick.randint(10_000, 99_999)}"
                row = (
                    f"{stamp},T{number},{kind},{amount},{pick.choice(_CATEGORIES)},"
                    f"{pick.choice(_DESCRIPTIONS)},{serial}\r\n"
                )
                if number % 50 == 0 and part:
                    later.append(row)
                else:
                    out.write(row)
                rows += 1
            if len(later) > 20:
                out.writelines(later)
                later.clear()
        out.writelines(later)
    return rows
