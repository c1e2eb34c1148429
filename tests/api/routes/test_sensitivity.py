"""`/kpi/sensitivity`: the line ranking, paged, counted and versioned like the other KPIs."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_sensitivity_rows_rank_first_and_page_with_count_and_etag(client: TestClient) -> None:
    """Rows come by network, period, rank (unranked last), line; `X-Total-Count` counts the
    filtered rows; the `ETag` is the publication's and answers 304.

    Mutation: `order=("network", "period", "rank", "line_id")` in the contract as
    `("network", "line_id", "period")`: the '*' row comes first and the test is red."""
    whole = client.get("/kpi/sensitivity", params={"period": "all"})
    assert whole.status_code == 200
    rows = whole.json()
    assert whole.headers["X-Total-Count"] == str(len(rows)) == "3"
    assert [(row["line_id"], row["rank"]) for row in rows] == [("L1", 1), ("L2", 2), ("*", None)]
    first = rows[0]
    assert first["uplift_low_s"] <= first["uplift_s"] <= first["uplift_high_s"]
    assert first["wet_days"] <= first["days"]
    page = client.get("/kpi/sensitivity", params={"period": "all", "limit": 1, "offset": 1})
    assert page.headers["X-Total-Count"] == "3"
    assert page.json() == rows[1:2]
    assert page.headers["ETag"] == whole.headers["ETag"]
    again = client.get(
        "/kpi/sensitivity",
        params={"period": "all"},
        headers={"If-None-Match": whole.headers["ETag"]},
    )
    assert again.status_code == 304
    one_line = client.get("/kpi/sensitivity", params={"line_id": "L2"})
    assert {row["line_id"] for row in one_line.json()} == {"L2"}
    assert one_line.headers["X-Total-Count"] == "3"  # all and two months


def test_sensitivity_refuses_a_bad_period_naming_it(client: TestClient) -> None:
    bad = client.get("/kpi/sensitivity", params={"period": "2024-13"})
    assert bad.status_code == 422
    assert "period" in bad.text
