{#-
    Staging for every observation source: they share the canonical long layout the Python loader
    writes (one row per organisation, period, measure and breakdown, plus lineage), so one macro
    renames, trims and types them, and keeps the latest vintage of each restated value.
-#}
{% macro stage_observations(source_name, table_name) %}

with source as (

    select * from {{ source(source_name, table_name) }}

),
typed as (

    select
        cast(upper(trim(org_code)) as text) as org_code,
        cast(trim(org_name) as text) as org_name,
        cast(trim(org_type) as text) as org_type,
        cast(upper(trim(region_code)) as text) as region_code,
        cast(upper(trim(icb_code)) as text) as icb_code,
        cast(lower(trim(benchmark_group)) as text) as benchmark_group,
        cast(period_start as date) as period_start,
        cast(period_end as date) as period_end,
        cast(lower(trim(grain)) as text) as grain,
        cast(lower(trim(measure)) as text) as measure,
        cast(coalesce(lower(trim(breakdown)), 'all') as text) as breakdown,
        case when coalesce(suppressed, false) then null else cast(value as double precision) end as value,
        cast(numerator as double precision) as numerator,
        cast(denominator as double precision) as denominator,
        cast(lower(trim(unit)) as text) as unit,
        coalesce(cast(suppressed as boolean), false) as suppressed,
        cast(suppression_token as text) as suppression_token,
        cast(source_sheet as text) as source_sheet,
        cast(source_row as bigint) as source_row,
        cast(vintage as text) as vintage,
        cast(extract_sha256 as text) as extract_sha256,
        cast(layout as text) as layout,
        cast(file_name as text) as file_name,
        cast(loaded_at as timestamp) as loaded_at,
        row_number() over (
            partition by
                upper(trim(org_code)),
                period_start,
                lower(trim(measure)),
                coalesce(lower(trim(breakdown)), 'all')
            order by vintage desc nulls last, loaded_at desc nulls last, extract_sha256 desc nulls last
        ) as vintage_rank
    from source

)

select
    org_code,
    org_name,
    org_type,
    region_code,
    icb_code,
    benchmark_group,
    period_start,
    period_end,
    grain,
    measure,
    breakdown,
    value,
    numerator,
    denominator,
    unit,
    suppressed,
    suppression_token,
    source_sheet,
    source_row,
    vintage,
    extract_sha256,
    layout,
    file_name,
    loaded_at
from typed
where vintage_rank = 1

{% endmacro %}
