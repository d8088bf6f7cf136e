"""Reading tables from files and dataframe libraries."""

from mlvigil.io.tables import TableSource, open_table

__all__ = ["TableSource", "open_table"]
