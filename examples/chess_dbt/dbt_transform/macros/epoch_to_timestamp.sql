{# chess.com gives end_time as Unix seconds; this works on Redshift, Postgres and DuckDB alike #}
{% macro epoch_to_timestamp(column) -%}
    (timestamp 'epoch' + {{ column }} * interval '1 second')
{%- endmacro %}
