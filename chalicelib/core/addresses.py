"""Where the city, the state and the postal code go in an address, by its country.

Most of the world, Pakistan and the United Kingdom among them, writes the city and then the postal
code ("Lahore 54000"); the United States, Canada and Australia write "City, ST 12345"; most of
continental Europe writes the postal code first ("10115 Berlin"). The web app does the same in
web/js/countries.js (`placeLines`).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# "City, ST 12345": the city, its state or region, then the postal code, on one line.
CITY_STATE_POSTAL: frozenset[str] = frozenset({"US", "CA", "AU"})
# "10115 Berlin": the postal code before the city.
POSTAL_CITY: frozenset[str] = frozenset({
    "AD", "AL", "AT", "BA", "BE", "BG", "CH", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FO", "FR",
    "GL", "GR", "HR", "HU", "IS", "IT", "LI", "LT", "LU", "MC", "MD", "ME", "MK", "NL", "NO", "PL",
    "PT", "RO", "RS", "SE", "SI", "SK", "SM", "VA",
})


def _join(separator: str, *parts: str) -> str:
    return separator.join(part for part in parts if part)


def place_lines(address: Mapping[str, Any]) -> list[str]:
    """The lines of `address` (a billing snapshot) that say where it is, in its country's order:
    ["Lahore 54000", "Punjab"], ["Austin, TX 78701"], ["10115 Berlin"]; none for a missing part."""
    city, state, postal = (str(address.get(key) or "").strip() for key in ("city", "state", "postal_code"))
    country = str(address.get("country") or "").strip().upper()
    if country in CITY_STATE_POSTAL:
        lines = [_join(" ", _join(", ", city, state), postal)]
    else:
        lines = [_join(" ", postal, city) if country in POSTAL_CITY else _join(" ", city, postal), state]
    return [line for line in lines if line]
