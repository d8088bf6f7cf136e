"""The guided tour: a simulated model in production, and `mlvigil init`'s example."""
