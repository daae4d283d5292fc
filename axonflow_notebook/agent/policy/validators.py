"""Validators that confirm a regex match really is the PII it looks like.

AxonFlow runs a validator after the regex for some PII policies (wire protocol §7.1(4)):
a match that fails it is not a match. Each validator takes the whole (scanned) query and
the match's character span, because several need the words just before the match (a
"passport" label, a "firmware" label). The label look-ups use Python's ``re`` only on a
bounded window of at most ``_WINDOW`` characters, so they stay cheap on any input.
"""

from __future__ import annotations

import re
from typing import Callable

Validator = Callable[[str, int, int], bool]

_WINDOW = 40  # characters before a match searched for a label

_DIGITS = re.compile(r"\d")
_NON_ALNUM = re.compile(r"[^0-9A-Za-z]")


_SEPARATORS = str.maketrans("", "", " -.()+/\t\n\r\f\v")


def _digits(s: str) -> str:
    """The ASCII digits of ``s``; matches are mostly digits and separators, so try the fast way."""
    stripped = s.translate(_SEPARATORS)
    if stripped.isascii() and stripped.isdigit():
        return stripped
    return "".join(_DIGITS.findall(s))


def _before(text: str, start: int, width: int = _WINDOW) -> str:
    return text[max(0, start - width) : start]


def luhn_ok(number: str) -> bool:
    """The Luhn (mod 10) checksum every payment card number carries."""
    if not number or not (number.isascii() and number.isdigit()):
        return False
    total = sum(map(int, number[-1::-2])) + sum(_LUHN_DOUBLED[ord(ch) - 48] for ch in number[-2::-2])
    return total % 10 == 0


_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # digit d doubled, minus 9 when over 9


def credit_card(text: str, start: int, end: int) -> bool:
    number = _digits(text[start:end])
    return 13 <= len(number) <= 19 and luhn_ok(number)


def ssn(text: str, start: int, end: int) -> bool:
    """SSA rules: area not 000, 666 or 900-999; group not 00; serial not 0000."""
    d = _digits(text[start:end])
    if len(d) != 9:
        return False
    area, group, serial = int(d[:3]), d[3:5], d[5:]
    if area == 0 or area == 666 or area >= 900:
        return False
    return group != "00" and serial != "0000"


_ABA_PREFIXES = set(range(0, 13)) | set(range(21, 33)) | set(range(61, 73)) | {80}


def aba_routing_ok(routing: str) -> bool:
    """ABA routing number: valid Federal Reserve prefix and the 3-7-1 checksum."""
    if len(routing) != 9 or not routing.isdigit() or routing == "000000000":
        return False
    if int(routing[:2]) not in _ABA_PREFIXES:
        return False
    d = [ord(c) - 48 for c in routing]
    check = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8])
    return check % 10 == 0


def bank_account(text: str, start: int, end: int) -> bool:
    """A US routing number (first 9 digits) followed by an account number."""
    d = _digits(text[start:end])
    return len(d) >= 17 and aba_routing_ok(d[:9])


def iban_ok(candidate: str) -> bool:
    """ISO 13616 MOD-97: move the first four characters to the end, letters to numbers."""
    s = _NON_ALNUM.sub("", candidate).upper()
    if not 15 <= len(s) <= 34 or not s[:2].isalpha() or not s[2:4].isdigit():
        return False
    rearranged = s[4:] + s[:4]
    numeric = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(numeric) % 97 == 1


def iban(text: str, start: int, end: int) -> bool:
    return iban_ok(text[start:end])


_VERSION_LABEL = re.compile(
    r"(?i)\b(?:version|ver|v|firmware|fw|build|release|rel|revision|rev|kernel|bios)\.?\s*[:=#]?\s*$"
)


def ipv4(text: str, start: int, end: int) -> bool:
    """Four octets ≤ 255, not part of a longer dotted run, not labelled as a version."""
    parts = text[start:end].split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) <= 255 for p in parts):
        return False
    if start > 0 and text[start - 1] == ".":
        return False
    if end + 1 < len(text) and text[end] == "." and text[end + 1].isdigit():
        return False
    return _VERSION_LABEL.search(_before(text, start, 24)) is None


def phone(text: str, start: int, end: int) -> bool:
    """7 to 15 digits (E.164 limit), not one digit repeated."""
    d = _digits(text[start:end])
    return 7 <= len(d) <= 15 and len(set(d)) > 1


def email(text: str, start: int, end: int) -> bool:
    """A plausible address: sane local part and dot-separated domain labels."""
    local, _, domain = text[start:end].rpartition("@")
    if not local or not domain or len(local) > 64 or len(domain) > 253:
        return False
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return False
    labels = domain.split(".")
    return all(lbl and not lbl.startswith("-") and not lbl.endswith("-") for lbl in labels)


_PASSPORT_LABEL = re.compile(r"(?i)\bpassport\b")
_DOB_LABEL = re.compile(
    r"(?i)(?:\bd\.?o\.?b\b|\bdate\s+of\s+birth\b|\bbirth\s*date\b|\bbirthday\b|\bborn\b)"
)
_AADHAAR_LABEL = re.compile(r"(?i)(?:aadhaa?r|\buid\b)")


def passport(text: str, start: int, end: int) -> bool:
    return _PASSPORT_LABEL.search(_before(text, start)) is not None


def dob(text: str, start: int, end: int) -> bool:
    return _DOB_LABEL.search(_before(text, start)) is not None


def aadhaar(text: str, start: int, end: int) -> bool:
    """Twelve digits count only next to an "aadhaar"/"UID" label (or with it in the match)."""
    if len(_digits(text[start:end])) != 12:
        return False
    return _AADHAAR_LABEL.search(text[max(0, start - 30) : end]) is not None


_PAN_STRUCTURE = re.compile(r"[A-Z]{3}[PCHABGJLFT][A-Z][0-9]{4}[A-Z]")


def pan(text: str, start: int, end: int) -> bool:
    """The last ten characters must have PAN structure: 5 letters (4th = holder type), 4 digits, 1 letter."""
    token = text[start:end][-10:].upper()
    return _PAN_STRUCTURE.fullmatch(token) is not None


VALIDATORS: dict[str, Validator] = {
    "luhn": credit_card,
    "ssn": ssn,
    "aba_routing": bank_account,
    "iban": iban,
    "ipv4": ipv4,
    "phone": phone,
    "email": email,
    "passport": passport,
    "dob": dob,
    "aadhaar": aadhaar,
    "pan": pan,
}

# Numbers run into each other ("555-123-4567 4111 1111 1111 1111"): a regex match that fails
# one of these validators may hide a valid number sharing its digits, so the engine also
# tries the word starts inside it. Not for labels or e-mail: "jane..doe@x.com" stays invalid.
RETRY_INSIDE = frozenset({"luhn", "ssn", "aba_routing", "iban", "phone", "ipv4", "aadhaar", "pan"})
