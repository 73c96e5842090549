"""The warehouse: DuckDB (embedded default) or PostgreSQL (shared), behind one small interface."""
