"""Helpers of the store's package (`runs/`) that every face shares."""
from runs.shown import without_paths


def test_server_paths_are_shown_the_same_way_by_every_face(tmp_path):
    """`runs.shown.without_paths` is what the API's run records and the scheduler's webhook
    bodies both use: a dataset folder under the data root by its relative path, another by its
    name, the store as STORE/, a relative name left alone (it is no server path)."""
    root, store = tmp_path / "data", tmp_path / "store"
    inside, outside = str(root / "2025" / "q1"), str(tmp_path / "elsewhere" / "extract")
    record = {"error": f"{inside}/claims.csv line 3; {outside}/claims.csv; {store}/runs/r1/run.json",
              "warnings": [f"{outside} has 2 files", "data/x stays"], "n": 3}
    shown = without_paths(record, [inside, outside, "data/x"], store, root)
    assert shown == {"error": "2025/q1/claims.csv line 3; extract/claims.csv; STORE/runs/r1/run.json",
                     "warnings": ["extract has 2 files", "data/x stays"], "n": 3}
    assert str(tmp_path) not in str(without_paths(record, [inside, outside], store))
