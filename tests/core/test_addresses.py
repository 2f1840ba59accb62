"""An address's city, state and postal code go in its country's order."""
from __future__ import annotations

import pytest

from chalicelib.core.addresses import place_lines


@pytest.mark.parametrize(("address", "lines"), [
    # Pakistan and most of the world: the city, then the postal code; the province on its own line
    ({"city": "Lahore", "postal_code": "54000", "state": "Punjab", "country": "PK"}, ["Lahore 54000", "Punjab"]),
    ({"city": "London", "postal_code": "SW1A 1AA", "country": "GB"}, ["London SW1A 1AA"]),
    # The United States, Canada and Australia: "City, ST 12345"
    ({"city": "Austin", "state": "TX", "postal_code": "78701", "country": "US"}, ["Austin, TX 78701"]),
    ({"city": "Toronto", "state": "ON", "postal_code": "M5V 2T6", "country": "ca"}, ["Toronto, ON M5V 2T6"]),
    ({"city": "Sydney", "state": "NSW", "postal_code": "2000", "country": "AU"}, ["Sydney, NSW 2000"]),
    ({"city": "Austin", "postal_code": "78701", "country": "US"}, ["Austin 78701"]),
    # Continental Europe: the postal code, then the city
    ({"city": "Berlin", "postal_code": "10115", "country": "DE"}, ["10115 Berlin"]),
    ({"city": "Paris", "postal_code": "75001", "country": "FR"}, ["75001 Paris"]),
    ({"city": "Amsterdam", "postal_code": "1012 AB", "country": "NL"}, ["1012 AB Amsterdam"]),
    # A missing part leaves no gap
    ({"city": "Lahore", "country": "PK"}, ["Lahore"]),
    ({"city": "Berlin", "postal_code": "", "state": None, "country": "DE"}, ["Berlin"]),
    ({}, []),
])
def test_the_place_follows_the_countrys_order(address: dict, lines: list[str]) -> None:
    assert place_lines(address) == lines
