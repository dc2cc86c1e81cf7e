{{ config(materialized='incremental', unique_key=['game_uuid', 'side']) }}
-- one row per player and game (each game has a white and a black side), from completed loads only;
-- an incremental run reads only the loads not processed yet
with games as (
    select g.*
    from {{ source('chess', 'players_games') }} as g
    join {{ ref('completed_loads') }} as l on g._sl_load_id = l.load_id
    {% if is_incremental() %}
    where g._sl_load_id not in (select distinct _sl_load_id from {{ this }})
    {% endif %}
)
select uuid as game_uuid, cast('white' as varchar(5)) as side, white__username as username,
       white__rating as rating, white__result as result, black__username as opponent,
       time_class, rated, end_time as ended_at, _sl_load_id
from games
union all
select uuid, cast('black' as varchar(5)), black__username, black__rating, black__result, white__username,
       time_class, rated, end_time, _sl_load_id
from games
