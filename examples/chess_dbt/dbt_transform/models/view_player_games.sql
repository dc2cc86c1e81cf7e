-- games with the player's profile (name, title, country); profiles of completed loads only
with profiles as (
    select p.*
    from {{ source('chess', 'players_profiles') }} as p
    join {{ ref('completed_loads') }} as l on p._sl_load_id = l.load_id
)
select g.game_uuid, g.side, g.username, g.rating, g.result, g.opponent, g.time_class, g.ended_at,
       p.name as player_name, p.title as player_title, p.country as player_country
from {{ ref('player_games') }} as g
left join profiles as p on lower(p.username) = lower(g.username)
