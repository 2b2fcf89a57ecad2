import pickle

import numpy as np
import pytest

from relcore import ConvergenceError, DataError, PolicyError, RelcoreError


def test_data_error_names_column_first_five_rows_and_count():
    err = DataError.from_mask("value", np.arange(20) % 3 == 0, "negative values")
    assert err.column == "value"
    assert err.rows == (0, 3, 6, 9, 12)
    assert err.count == 7
    assert str(err) == "column 'value', 7 rows (0, 3, 6, 9, 12, …): negative values"


def test_hierarchy_lets_callers_catch_broadly_or_narrowly():
    assert issubclass(DataError, RelcoreError)
    assert issubclass(DataError, ValueError)
    assert issubclass(PolicyError, RelcoreError)
    assert issubclass(PolicyError, ValueError)
    assert issubclass(ConvergenceError, RelcoreError)
    with pytest.raises(ValueError, match="column 'x': bad"):
        raise DataError("x", "bad")


def test_errors_survive_pickling_across_processes():
    err = pickle.loads(pickle.dumps(DataError("at", "naive datetimes", [4, 2])))
    assert (err.column, err.rows, err.count) == ("at", (4, 2), 2)
    perr = pickle.loads(pickle.dumps(PolicyError("rules[2].per", "must be positive")))
    assert (perr.path, str(perr)) == ("rules[2].per", "rules[2].per: must be positive")
