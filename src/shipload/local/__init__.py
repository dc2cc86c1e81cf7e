"""Local services for tests and offline demos: a PostgreSQL server (and, later, the Redshift endpoint)."""
