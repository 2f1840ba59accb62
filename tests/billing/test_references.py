"""Payment references: the check character catches every single typo and adjacent swap."""
from __future__ import annotations

import random

import pytest

from chalicelib.billing import references
from chalicelib.billing.references import (
    ALPHABET,
    compact,
    format_reference,
    is_valid,
    new_reference,
)

SAMPLE = [new_reference() for _ in range(200)]


def test_a_new_reference_is_short_unambiguous_and_valid() -> None:
    for reference in SAMPLE:
        assert len(reference) == len("PR-XXXX-XXXX") and reference.startswith("PR-")
        assert set(compact(reference)[2:]) <= set(ALPHABET)
        assert not set("01ILOUZ") & set(compact(reference)[2:])
        assert is_valid(reference)
    assert len(set(SAMPLE)) == len(SAMPLE)


def test_every_single_character_typo_is_caught() -> None:
    caught = 0
    for reference in SAMPLE:
        code = compact(reference)[2:]
        for position in range(len(code)):
            for wrong in ALPHABET:
                if wrong != code[position]:
                    typo = code[:position] + wrong + code[position + 1:]
                    assert not is_valid(format_reference(typo)), (reference, typo)
                    caught += 1
    assert caught == len(SAMPLE) * 8 * (len(ALPHABET) - 1)


def test_every_swap_of_two_different_neighbours_is_caught() -> None:
    for reference in SAMPLE:
        code = compact(reference)[2:]
        for position in range(len(code) - 1):
            if code[position] != code[position + 1]:
                swapped = (code[:position] + code[position + 1] + code[position]
                           + code[position + 2:])
                assert not is_valid(format_reference(swapped)), (reference, swapped)


@pytest.mark.parametrize("written", ["pr-{a}-{b}", "PR {a} {b}", "PR{a}{b}", "{a}{b}", " pr_{a}.{b} "])
def test_case_spaces_and_dashes_do_not_matter(written: str) -> None:
    code = compact(SAMPLE[0])[2:]
    assert is_valid(written.format(a=code[:4], b=code[4:]))


@pytest.mark.parametrize("text", ["", "PR-", "PR-1234-5678", "PR-ABCD-EFG", "PR-ABCD-EFGHJ", "hello"])
def test_malformed_text_is_not_a_reference(text: str) -> None:
    assert not is_valid(text)


def test_a_bank_reference_mentions_the_payment_reference_however_it_was_typed() -> None:
    reference = SAMPLE[1]
    code = compact(reference)[2:]
    assert references.mentions(f"TRX 99812 / pr {code[:4]} {code[4:]}", reference)
    assert not references.mentions("TRX 99812", reference)
    assert not references.mentions(None, reference)


def test_a_typo_in_a_reference_written_in_free_text_is_found() -> None:
    reference = SAMPLE[2]
    code = compact(reference)[2:]
    wrong = ALPHABET[(ALPHABET.index(code[3]) + 1) % len(ALPHABET)]
    typo = format_reference(code[:3] + wrong + code[4:])
    assert references.typo_in(f"HBL-7781 {typo}") == typo
    assert references.typo_in(f"HBL-7781 {reference}") is None
    assert references.typo_in("HBL-7781") is None


def test_references_are_random() -> None:
    random.seed(0)  # secrets ignores it: two samples never match
    assert {new_reference() for _ in range(50)}.isdisjoint(SAMPLE)
