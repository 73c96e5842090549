-- ODS successor organisations (succ): one row per (old_code, new_code) from the latest vintage.
with source as (

    select * from {{ source('ods', 'ods_successors') }}

),

typed as (

    select
        cast(upper(trim(old_code)) as text) as old_code,
        cast(upper(trim(new_code)) as text) as new_code,
        cast(upper(trim(reason)) as text) as reason,
        cast(effective_date as date) as effective_date,
        cast(upper(trim(indicator)) as text) as indicator,
        cast(source_row as bigint) as source_row,
        cast(vintage as text) as vintage,
        cast(extract_sha256 as text) as extract_sha256,
        cast(file_name as text) as file_name,
        cast(loaded_at as timestamp) as loaded_at,
        row_number() over (
            partition by upper(trim(old_code)), upper(trim(new_code))
            order by vintage desc nulls last, loaded_at desc nulls last, extract_sha256 desc nulls last
        ) as vintage_rank
    from source
    where old_code is not null
        and new_code is not null
        and upper(trim(old_code)) <> upper(trim(new_code))

)

select
    old_code,
    new_code,
    reason,
    effective_date,
    indicator,
    source_row,
    vintage,
    extract_sha256,
    file_name,
    loaded_at
from typed
where vintage_rank = 1
