{{ config(materialized='table') }}
-- games, wins, losses and draws per player and month; result codes are classified by the seed
select lower(g.username) as username,
       cast(date_trunc('month', g.ended_at) as date) as month,
       count(*) as games,
       sum(case when r.outcome = 'win' then 1 else 0 end) as wins,
       sum(case when r.outcome = 'loss' then 1 else 0 end) as losses,
       sum(case when r.outcome = 'draw' then 1 else 0 end) as draws
from {{ ref('player_games') }} as g
left join {{ ref('result_codes') }} as r on r.result = g.result
group by 1, 2
