{{ config(materialized='ephemeral') }}
-- loads whose package was committed: rows of loads still in progress (or failed) are never seen
select load_id
from {{ source('shipload', '_sl_loads') }}
where status = 0
