"""Keep the Chinese catalogues complete.

Simplified Chinese (zh_Hans) is written by hand in its .po file. Traditional Chinese (zh_Hant)
is derived from it with OpenCC (Simplified → Taiwan standard with phrases) wherever a
Traditional entry is empty, fuzzy or was derived before; entries a translator has edited are
kept. Exits 1 listing any Simplified entry still untranslated.

"Derived before" is a translator comment (`# derived-from-zh_Hans`), which msgmerge keeps; an
extracted comment (`#.`, used until 2026-11) is rewritten by every makemessages, so the mark
was lost and later changes to a Simplified text stopped reaching Traditional. An unmarked entry
that reads exactly as its derivation would is marked too: nobody edited it.

Run by `make messages` after makemessages.
"""

from __future__ import annotations

import sys
from pathlib import Path

import opencc
import polib

LOCALE = Path(__file__).resolve().parent.parent / "src" / "kedun" / "locale"
DERIVED = "derived-from-zh_Hans"


def main(locale: Path = LOCALE) -> int:
    hans = polib.pofile(str(locale / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    hant_path = locale / "zh_Hant" / "LC_MESSAGES" / "django.po"
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
        derived_text = converter.convert(origin.msgstr)
        derived_plural = {k: converter.convert(v) for k, v in origin.msgstr_plural.items()}
        editable = not entry.msgstr and not any(entry.msgstr_plural.values())
        marked = DERIVED in entry.tcomment or DERIVED in entry.comment
        unedited = (
            entry.msgstr_plural == derived_plural
            if entry.msgid_plural
            else entry.msgstr == derived_text
        )
        if not (editable or "fuzzy" in entry.flags or marked or unedited):
            continue
        if entry.msgid_plural:
            entry.msgstr_plural = derived_plural
        else:
            entry.msgstr = derived_text
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
        entry.previous_msgid = entry.previous_msgid_plural = entry.previous_msgctxt = None
        if DERIVED in entry.comment:
            entry.comment = "\n".join(
                line for line in entry.comment.splitlines() if line != DERIVED
            )
        if DERIVED not in entry.tcomment:
            entry.tcomment = "\n".join(filter(None, [entry.tcomment, DERIVED]))
    hant.save(str(hant_path))
    if missing:
        print("zh_Hans entries without a translation:", *missing, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
