"""The public names of mlvigil.profile resolve, and its errors join mlvigil's tree."""

from __future__ import annotations

import pytest

import mlvigil.profile
from mlvigil import ConfigError, InputError
from mlvigil.profile import ProfileConfig, ProfileFormatError, ProfileMergeError


def test_all_names_resolve_and_are_sorted() -> None:
    assert list(mlvigil.profile.__all__) == sorted(mlvigil.profile.__all__)
    for name in mlvigil.profile.__all__:
        assert getattr(mlvigil.profile, name) is not None, name


def test_profile_errors_are_input_errors() -> None:
    assert issubclass(ProfileFormatError, InputError)
    assert issubclass(ProfileMergeError, InputError)


@pytest.mark.parametrize(
    "options", [{"quantile_k": 4}, {"frequent_items_lg_k": 40}, {"workers": 0}]
)
def test_config_rejects_out_of_range_values_with_config_errors(options: dict[str, int]) -> None:
    with pytest.raises(ConfigError, match=next(iter(options))):
        ProfileConfig(**options)
