"""The analytics page's table of an API answer: columns from the first row, capped rows."""

from __future__ import annotations

from authstack_dashboard.routes.analytics import ROWS_SHOWN, result_table


def test_columns_are_the_keys_of_the_first_row_and_values_are_text() -> None:
    table = result_table(
        {
            "result": [
                {"event_type": "$token-refresh", "n": 3, "data": {"a": [1]}, "gone": None},
                {"event_type": "<b>", "n": 1},
            ],
            "query_id": "q1",
        }
    )
    assert table.columns == ["event_type", "n", "data", "gone"]
    assert [[c.text for c in row] for row in table.rows] == [
        ["$token-refresh", "3", '{"a": [1]}', "NULL"],
        ["<b>", "1", "NULL", "NULL"],
    ]
    assert table.rows[0][3].is_null
    assert (table.total, table.query_id) == (2, "q1")


def test_at_most_rows_shown_rows_are_kept_and_the_total_is_told() -> None:
    table = result_table({"result": [{"i": i} for i in range(ROWS_SHOWN + 5)], "query_id": "q"})
    assert len(table.rows) == ROWS_SHOWN
    assert table.total == ROWS_SHOWN + 5


def test_odd_answers_give_an_empty_or_single_column_table() -> None:
    assert result_table(None).rows == []
    assert result_table({"result": "x"}).total == 0
    table = result_table({"result": [1, "two"]})
    assert table.columns == ["value"]
    assert [[c.text for c in row] for row in table.rows] == [["1"], ["two"]]
