import json
import warnings

import numpy as np
import pytest

from nonconvex_reg import ConvergenceWarning
from omp import OMPResult
from omp.result import STATUS_MESSAGES


def _result(status="converged", support=(1, 4)):
    return OMPResult(
        coef=np.arange(6.0),
        support=np.array(support),
        loss=0.25,
        n_iter=3,
        status=status,
        history=(1.0, 0.25),
        time=0.01,
        info={"n_swaps": 1},
    )


def test_to_dict_is_json_ready_and_complete():
    payload = json.loads(json.dumps(_result().to_dict()))
    assert payload["support"] == [1, 4]
    assert payload["status"] == "converged"
    assert payload["message"] == STATUS_MESSAGES["converged"]
    assert payload["converged"] is True
    assert payload["history"] == [1.0, 0.25]


def test_repr_is_one_readable_line_and_shortens_long_supports():
    assert repr(_result()).startswith("OMPResult(status='converged', loss=0.25, k=2")
    text = repr(_result(support=range(20)))
    assert "..." in text and "\n" not in text


@pytest.mark.parametrize("status", sorted(STATUS_MESSAGES))
def test_only_give_ups_warn(status):
    result = _result(status)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result.warn_if_not_converged("search")
    assert result.converged == (status in ("completed", "converged", "enumerated"))
    assert [w.category for w in caught] == (
        [] if result.converged else [ConvergenceWarning]
    )


def test_unknown_status_is_rejected():
    with pytest.raises(ValueError, match="`status` must be one of"):
        _result("done")


def test_markdown_table_has_every_field_and_summarizes_arrays():
    # issue 8: results render as field | value tables in Jupyter
    text = _result()._repr_markdown_()
    lines = text.splitlines()
    assert lines[:2] == ["| field | value |", "|:---|:---|"]
    fields = [line.split(" | ")[0].removeprefix("| ") for line in lines[2:]]
    assert fields == list(_result().to_dict())
    assert "| coef | array of shape (6,) |" in lines
    assert "| history | 2 values, 1 -> 0.25 |" in lines
    assert "| info | n_swaps: 1 |" in lines
    assert "| loss | 0.25 |" in lines


def test_markdown_table_escapes_pipes_once():
    result = _result()
    result.info["rule"] = {"inner": "a|b"}
    assert "| info | n_swaps: 1; rule: inner: a\\|b |" in result._repr_markdown_()
