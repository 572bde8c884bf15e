"""Command bindings as Azure substitutes them."""

from __future__ import annotations

import pytest

from mlk.specs.bindings import bind, literal_text, references


def test_inputs_and_outputs_are_replaced_where_they_stand() -> None:
    command = "python t.py --lr ${{inputs.lr}} --data ${{ inputs.data }} --out ${{outputs.model}}"
    bound = bind(command, {"lr": "0.1", "data": "/in/d"}, {"model": "/out/m"})
    assert bound == "python t.py --lr 0.1 --data /in/d --out /out/m"
    assert references(command) == [("inputs", "lr"), ("inputs", "data"), ("outputs", "model")]


def test_optional_parts_stay_only_with_their_inputs() -> None:
    command = "train $[[--seed ${{inputs.seed}}]] $[[--extra ${{inputs.extra}}]]"
    assert bind(command, {"seed": "7"}, {}) == "train --seed 7 "


def test_a_required_binding_with_nothing_behind_it_is_an_error() -> None:
    with pytest.raises(KeyError):
        bind("echo ${{inputs.missing}}", {}, {})


@pytest.mark.parametrize(("value", "text"), [(True, "True"), (False, "False"), (0.5, "0.5"), (3, "3"), ("a b", "a b")])
def test_literals_read_as_azure_writes_them(value: object, text: str) -> None:
    assert literal_text(value) == text
