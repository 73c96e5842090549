-- ODS NHS trusts (etr): one row per organisation code from the latest vintage that lists it.
with source as (

    select * from {{ source('ods', 'ods_trusts') }}

),

typed as (

    select
        cast(upper(trim(org_code)) as text) as org_code,
        cast(trim(org_name) as text) as org_name,
        cast(upper(trim(region_code)) as text) as region_code,
        cast(upper(trim(icb_code)) as text) as icb_code,
        cast(upper(trim(postcode)) as text) as postcode,
        cast(open_date as date) as open_date,
        cast(close_date as date) as close_date,
        cast(source_row as bigint) as source_row,
        cast(vintage as text) as vintage,
        cast(extract_sha256 as text) as extract_sha256,
        cast(file_name as text) as file_name,
        cast(loaded_at as timestamp) as loaded_at,
        row_number() over (
            partition by upper(trim(org_code))
            order by vintage desc nulls last, loaded_at desc nulls last, extract_sha256 desc nulls last
        ) as vintage_rank
    from source

)

select
    org_code,
    org_name,
    region_code,
    icb_code,
    postcode,
    open_date,
    close_date,
    close_date is not null as is_closed,
    source_row,
    vintage,
    extract_sha256,
    file_name,
    loaded_at
from typed
where vintage_rank = 1
