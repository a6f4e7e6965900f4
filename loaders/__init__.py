"""Files → contract tables: the dataset loader and validator (`dataset`), the converters of SNDS
extracts (`snds`), FINESS and Annuaire Santé registries (`fhir`, `annuaire`) and of any extract
described by a mapping file (`mapping`), and the synthetic region generator (`synthetic`).

`EXAMPLES` is the folder of shipped examples: mapping files with the extracts they describe
(`mappings/`) and a small DCIR extract (`snds/`); every value in them is invented.
"""
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent / "examples"
