-- Resolves ODS successions transitively: every predecessor code with its final successor(s).
-- A chain A -> B -> C gives A -> C (and B -> C). Where a code has several successors (a split,
-- directly or further down the chain) no single successor is given and is_split is true.
with recursive successors as (

    select
        old_code,
        new_code,
        effective_date
    from {{ ref('stg_ods__successors') }}

),

chains as (

    select
        old_code as origin_code,
        new_code as current_code,
        1 as chain_depth,
        effective_date as last_effective_date,
        cast('|' || old_code || '|' || new_code || '|' as text) as chain_path
    from successors

    union all

    select
        chains.origin_code,
        successors.new_code as current_code,
        chains.chain_depth + 1 as chain_depth,
        successors.effective_date as last_effective_date,
        cast(chains.chain_path || successors.new_code || '|' as text) as chain_path
    from chains
    inner join successors
        on chains.current_code = successors.old_code
    where
        chains.chain_depth < 50
        and position('|' || successors.new_code || '|' in chains.chain_path) = 0

),

terminals as (

    select chains.*
    from chains
    where not exists (
            select 1
            from successors
            where successors.old_code = chains.current_code
        )

),

per_origin as (

    select
        origin_code,
        count(distinct current_code) as n_final_successors,
        min(current_code) as first_final_successor,
        max(chain_depth) as chain_depth,
        max(last_effective_date) as effective_date,
        min(chain_path) as chain_path,
        string_agg(distinct current_code, ',' order by current_code) as final_successor_codes
    from terminals
    group by origin_code

),

direct as (

    select
        old_code,
        count(distinct new_code) as n_direct_successors
    from successors
    group by old_code

)

select
    per_origin.origin_code as old_code,
    case
        when per_origin.n_final_successors = 1 then per_origin.first_final_successor
    end as successor_code,
    per_origin.final_successor_codes as successor_codes,
    cast(per_origin.n_final_successors as integer) as n_successors,
    (per_origin.n_final_successors > 1 or direct.n_direct_successors > 1) as is_split,
    cast(per_origin.chain_depth as integer) as chain_depth,
    per_origin.chain_path,
    per_origin.effective_date
from per_origin
inner join direct
    on per_origin.origin_code = direct.old_code
