"""Payment references: what a payer writes in the transfer's description, e.g. `PR-7K4Q-X9MP`.

Eight characters from an alphabet of 29 that leaves out the easily misread 0, 1, I, L, O, U and
Z, the last being a check character: the weighted sum
Σ (i+1)·value(cᵢ) over all eight is 0 modulo 29. As 29 is prime and the weights 1..8 are
distinct and non-zero modulo 29, every single wrong character and every swap of two different
neighbours changes the sum by a non-zero amount, so each such typo is caught.
"""
from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXY"
MODULUS = len(ALPHABET)  # 29, a prime
BODY_LENGTH = 7
PREFIX = "PR"
_VALUE = {char: value for value, char in enumerate(ALPHABET)}
_SHAPE = re.compile(rf"^(?:{PREFIX})?([{ALPHABET}]{{{BODY_LENGTH + 1}}})$")
_LOOKS_LIKE = re.compile(r"\bPR[\s-]*[0-9A-Z]{4}[\s-]*[0-9A-Z]{4}\b")

assert MODULUS == 29 and BODY_LENGTH + 1 < MODULUS


def _check_char(body: str) -> str:
    weight = BODY_LENGTH + 1  # the check character's weight
    total = sum((index + 1) * _VALUE[char] for index, char in enumerate(body))
    # weight * v ≡ -total (mod 29): multiply by weight's inverse
    return ALPHABET[(-total * pow(weight, -1, MODULUS)) % MODULUS]


def new_reference() -> str:
    """A fresh random reference, formatted for people: `PR-XXXX-XXXX`."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return format_reference(body + _check_char(body))


def format_reference(compact: str) -> str:
    return f"{PREFIX}-{compact[:4]}-{compact[4:]}"


def compact(text: str) -> str:
    """Upper case without spaces and dashes: how references are compared."""
    return re.sub(r"[\s\-_.]", "", text.upper())


def is_valid(text: str) -> bool:
    """True if `text` is a well-formed reference whose check character matches."""
    match = _SHAPE.match(compact(text))
    if not match:
        return False
    code = match.group(1)
    return sum((index + 1) * _VALUE[char] for index, char in enumerate(code)) % MODULUS == 0


def mentions(text: str | None, reference: str | None) -> bool:
    """Whether a payer's free-text bank reference contains this payment reference."""
    if not text or not reference:
        return False
    return compact(reference) in compact(text)


def typo_in(text: str | None) -> str | None:
    """A reference-looking part of `text` whose check character fails (a typo), else None."""
    for match in _LOOKS_LIKE.finditer((text or "").upper()):
        if not is_valid(match.group(0)):
            return match.group(0)
    return None
