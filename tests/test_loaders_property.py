"""Malformed CSVs of every kind give a clean DatasetError (or load), never a traceback."""
import string
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from loaders.dataset import load_dataset
from contract.errors import DatasetError, Problem

from .conftest import examples

CLAIM_HEADER = "claim_id,patient_id,provider_id,service_code,service_date,amount"
cell = st.one_of(st.text(alphabet=string.printable, max_size=12),
                 st.sampled_from(["", "2025-01-01", "-1", "1e309", "NaN", "nurse", '"', "\"a,b\"", "\x00"]))
row = st.lists(cell, min_size=0, max_size=8).map(lambda cs: ",".join(cs))
header = st.one_of(st.just(CLAIM_HEADER), st.just("provider_id,kind"), row)
body = st.one_of(
    st.lists(row, max_size=6).map("\n".join),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
)


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(claims_header=header, claims_body=body, providers_body=body,
       raw=st.one_of(st.none(), st.binary(max_size=120)))
def test_malformed_input_gives_problems_not_tracebacks(claims_header, claims_body, providers_body, raw):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "claims.csv").write_text(claims_header + "\n" + claims_body + "\n", encoding="utf-8")
        if raw is None:
            (folder / "providers.csv").write_text("provider_id,kind\n" + providers_body, encoding="utf-8")
        else:
            (folder / "providers.csv").write_bytes(raw)
        try:
            load_dataset(folder)
        except DatasetError as e:
            assert e.problems and all(isinstance(p, Problem) for p in e.problems)
            assert all(p.file in ("claims.csv", "providers.csv") for p in e.problems)
            assert str(e).startswith(f"{e.total} problem(s) in {folder}:")
