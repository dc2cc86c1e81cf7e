"""A Postgres wire-protocol proxy that speaks Redshift's dialect in front of a real PostgreSQL."""
