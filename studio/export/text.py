"""Names as every writer can take them: one line, valid Unicode, and safe file names that are never empty.

Titles, video file names and marker names can hold anything a user typed or a file system
allowed: CJK, emoji, newlines, tabs, escape codes, or (from a file name that is not valid
UTF-8) lone surrogates. :func:`clean_line` turns a name into one printable line that
encodes as UTF-8 (EDL comments, XML attributes, the Reaper project, CSV and MIDI meta text
then stay one line each); :func:`safe_name` keeps letters and digits of any script.
"""

from __future__ import annotations

import re
import unicodedata

#: Unicode categories replaced by a space in a one-line name: controls, line and paragraph separators
_BREAKING = {"Cc", "Zl", "Zp"}
#: Windows device names that cannot be file names whatever their extension
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
#: longest slug in UTF-8 bytes, leaving room for suffixes like ``_stems/<slug>_harmony.wav`` in 255
MAX_SLUG_BYTES = 120


def valid_unicode(text: str) -> str:
    """``text`` NFC-normalised with lone surrogates (a file name that was not UTF-8) as U+FFFD, so it
    always encodes as UTF-8; line breaks are kept for the formats that escape them (CSV)."""
    fixed = "".join("\ufffd" if unicodedata.category(c) == "Cs" else c for c in str(text))
    return unicodedata.normalize("NFC", fixed)


def clean_line(text: str) -> str:
    """``text`` as one line of valid Unicode: controls and line breaks become single spaces, lone
    surrogates become U+FFFD, and the result is NFC-normalised and stripped."""
    chars = []
    for char in str(text):
        category = unicodedata.category(char)
        if category in _BREAKING:
            chars.append(" ")
        elif category == "Cs":
            chars.append("\ufffd")
        else:
            chars.append(char)
    return re.sub(r" {2,}", " ", unicodedata.normalize("NFC", "".join(chars))).strip()


def _allowed(char: str) -> bool:
    """Whether ``char`` may stay in a file name: ASCII letters, digits and ``._-``; any script's letters,
    digits, marks and symbols (emoji included) beyond ASCII."""
    if char.isascii():
        return char.isalnum() or char in "._-"
    return char not in "\ufffd\ufeff" and (unicodedata.category(char)[0] in "LNMS" or char == "\u200d")


def safe_name(text: str) -> str:
    """A file-name-safe version of ``text``: every run of ASCII punctuation, spaces or controls becomes
    one ``_``; letters, digits and symbols of every script are kept (a CJK or emoji title keeps its
    name); at most :data:`MAX_SLUG_BYTES` bytes; never empty, never a Windows device name."""
    marked = "".join(c if _allowed(c) else "\0" for c in unicodedata.normalize("NFC", str(text)))
    cleaned = re.sub("\0+", "_", marked).strip("._")
    while len(cleaned.encode("utf-8", "replace")) > MAX_SLUG_BYTES:
        cleaned = cleaned[:-1]
    cleaned = cleaned.rstrip("._")
    if not cleaned:
        return "untitled"
    return f"{cleaned}_" if cleaned.split(".")[0].upper() in _RESERVED else cleaned


__all__ = ["MAX_SLUG_BYTES", "clean_line", "safe_name", "valid_unicode"]
