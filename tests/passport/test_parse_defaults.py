"""``KEY=VALUE`` options, read once for the API (``?default=``) and the CLI (``--default``, ``--bpnl``)."""

from __future__ import annotations

import pytest

from batteryloop.errors import InvalidData
from batteryloop.passport.service import parse_defaults


def test_pairs_are_split_at_the_first_equals_sign_and_trimmed() -> None:
    assert parse_defaults([" model_id = EM-1 ", "url=https://x.example/?a=b", "empty="]) == {
        "model_id": "EM-1", "url": "https://x.example/?a=b", "empty": ""}


@pytest.mark.parametrize("item", ["no-equals", "=value", "  =value"])
@pytest.mark.parametrize("option", ["default", "bpnl"])
def test_a_malformed_pair_is_refused_naming_the_option_and_the_form(item: str, option: str) -> None:
    with pytest.raises(InvalidData) as err:
        parse_defaults(["ok=1", item], option)
    assert err.value.detail == f"{option} {item!r} is not KEY=VALUE"
    assert err.value.errors[0]["field"] == option and err.value.errors[0]["value"] == item
