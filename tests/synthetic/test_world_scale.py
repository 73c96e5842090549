"""The synthetic world at the benchmark's scale factors: distinct trust codes, and a clear limit."""

from __future__ import annotations

import pytest

from pipelines.parsers.common import ODS_CODE_PATTERN
from pipelines.synthetic.world import World


@pytest.mark.parametrize("scale", [1, 4, 10])
def test_every_trust_of_a_scaled_world_has_its_own_ods_style_code(scale):
    # Scale 10 once looped for ever: the three-letter code space holds 1,152 trusts.
    import re

    codes = [organisation.code for organisation in World(scale=scale, years=1).organisations]

    assert len(codes) == len(set(codes)) == 214 * scale + 6
    assert all(re.fullmatch(ODS_CODE_PATTERN, code) for code in codes)


def test_scales_up_to_five_keep_the_codes_they_always_had():
    from pipelines.synthetic.world import REAL_NETWORK_TRUSTS

    real = {code for code, *_ in REAL_NETWORK_TRUSTS}
    generated = [o.code for o in World(scale=5, years=1).organisations if o.code not in real]
    assert generated[:2] == ["RAA", "RAB"] and all(code[1:].isalpha() for code in generated)


def test_a_world_too_big_for_the_code_space_says_so():
    with pytest.raises(ValueError, match="no trust code left"):
        _ = World(scale=11, years=1).organisations
