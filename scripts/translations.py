"""Keep the Chinese catalogues complete.

Simplified Chinese (zh_Hans) is written by hand in its .po file. Traditional Chinese (zh_Hant)
is derived from it with OpenCC (Simplified → Taiwan standard with phrases) wherever a
Traditional entry is empty, fuzzy or was derived before; entries a translator has edited
(no "derived" flag) are kept. Exits 1 listing any Simplified entry still untranslated.

Run by `make messages` after makemessages.
"""

from __future__ import annotations

import sys
from pathlib import Path

import opencc
import polib

LOCALE = Path(__file__).resolve().parent.parent / "src" / "kedun" / "locale"
DERIVED = "derived-from-zh_Hans"


def main() -> int:
    hans = polib.pofile(str(LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    hant_path = LOCALE / "zh_Hant" / "LC_MESSAGES" / "django.po"
    hant = polib.pofile(str(hant_path))
    converter = opencc.OpenCC("s2twp")
    missing = [
        e.msgid
        for e in hans
        if not e.obsolete
        and (
            (not e.msgid_plural and not e.msgstr)
            or (e.msgid_plural and not all(e.msgstr_plural.values()))
            or "fuzzy" in e.flags
        )
    ]
    source = {(e.msgctxt, e.msgid): e for e in hans}
    for entry in hant:
        origin = source.get((entry.msgctxt, entry.msgid))
        if origin is None:
            continue
        editable = not entry.msgstr and not any(entry.msgstr_plural.values())
        if not (editable or "fuzzy" in entry.flags or DERIVED in entry.comment):
            continue
        if entry.msgid_plural:
            entry.msgstr_plural = {k: converter.convert(v) for k, v in origin.msgstr_plural.items()}
        else:
            entry.msgstr = converter.convert(origin.msgstr)
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
        entry.comment = DERIVED
    hant.save(str(hant_path))
    if missing:
        print("zh_Hans entries without a translation:", *missing, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
