"""The data contract of ../shared/CONTRACT.md as code, at the bottom of every layer.

- `contract.tables`: the input tables, their columns, types, enums and references;
- `contract.vocab`: entity types, node ids, patterns, standings, relationship types;
- `contract.errors`: the error root (`FraudnetError`) and the problems of input data.
"""
