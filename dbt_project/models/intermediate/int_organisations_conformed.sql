-- The organisation dimension: every code known from ODS, from the published observations or as
-- a successor, with its latest published name (the upper-case ODS name as fallback), type, Staff
-- Survey benchmarking group, region, ICB, open/close dates, final successor, network membership
-- and national peer group.
{%- set network_members = var('network_members') | map('upper') | list %}
{%- set member_sql = ("'" ~ (network_members | join("', '")) ~ "'") if network_members else 'null' %}
{#- A network may also be every open trust of some ICBs or NHS England regions. -#}
{%- set icb_codes = var('network_icb_codes', []) | map('upper') | list %}
{%- set region_codes = var('network_region_codes', []) | map('upper') | list %}
{%- set icb_sql = ("'" ~ (icb_codes | join("', '")) ~ "'") if icb_codes else 'null' %}
{%- set region_sql = ("'" ~ (region_codes | join("', '")) ~ "'") if region_codes else 'null' %}

with ods as (

    select * from {{ ref('stg_ods__trusts') }}

),

successors as (

    select * from {{ ref('int_successors_resolved') }}

),

observed as (

    select
        org_code,
        org_name,
        org_type,
        region_code,
        icb_code,
        cast(null as text) as benchmark_group,
        period_end,
        'sickness_absence' as source,
        1 as source_priority
    from {{ ref('stg_sickness_absence__rates') }}

    union all

    select
        org_code,
        org_name,
        cast(null as text) as org_type,
        region_code,
        icb_code,
        benchmark_group,
        period_end,
        'staff_survey_benchmark' as source,
        2 as source_priority
    from {{ ref('stg_staff_survey_benchmark__scores') }}

    union all

    select
        org_code,
        org_name,
        org_type,
        region_code,
        icb_code,
        cast(null as text) as benchmark_group,
        period_end,
        'workforce_staff_in_post' as source,
        3 as source_priority
    from {{ ref('stg_workforce_staff_in_post__staff_in_post') }}
    where breakdown = 'total'

    union all

    select
        org_code,
        org_name,
        cast(null as text) as org_type,
        region_code,
        icb_code,
        cast(null as text) as benchmark_group,
        period_end,
        'fft' as source,
        4 as source_priority
    from {{ ref('stg_fft__responses') }}

),

latest_name as (

    select
        org_code,
        org_name,
        row_number() over (
            partition by org_code
            order by period_end desc, source_priority asc, org_name asc
        ) as recency
    from observed
    where org_name is not null and org_name <> ''

),

latest_survey_group as (

    select
        org_code,
        benchmark_group,
        row_number() over (partition by org_code order by period_end desc, benchmark_group asc) as recency
    from observed
    where source = 'staff_survey_benchmark' and benchmark_group is not null

),

latest_sickness_type as (

    select
        org_code,
        lower(org_type) as org_type,
        row_number() over (partition by org_code order by period_end desc, org_type asc) as recency
    from observed
    where source = 'sickness_absence' and org_type is not null

),

latest_workforce_type as (

    select
        org_code,
        lower(org_type) as org_type,
        row_number() over (partition by org_code order by period_end desc, org_type asc) as recency
    from observed
    where source = 'workforce_staff_in_post' and org_type is not null

),

latest_geography as (

    select
        org_code,
        region_code,
        icb_code,
        row_number() over (
            partition by org_code
            order by period_end desc, source_priority asc
        ) as recency
    from observed
    where region_code is not null

),

codes as (

    select org_code from ods
    union
    select org_code from observed
    union
    select new_code as org_code from {{ ref('stg_ods__successors') }}

),

classified as (

    select
        codes.org_code,
        coalesce(latest_name.org_name, ods.org_name) as org_name,
        latest_survey_group.benchmark_group as staff_survey_benchmark_group,
        coalesce(
            latest_survey_group.benchmark_group,
            latest_sickness_type.org_type,
            latest_workforce_type.org_type
        ) as type_label,
        case
            when latest_survey_group.benchmark_group is not null then 'staff_survey_benchmark_group'
            when latest_sickness_type.org_type is not null then 'sickness_absence_org_type'
            when latest_workforce_type.org_type is not null then 'workforce_org_type'
            else 'none'
        end as org_type_source,
        coalesce(ods.region_code, latest_geography.region_code) as region_code,
        coalesce(ods.icb_code, latest_geography.icb_code) as icb_code,
        ods.open_date,
        ods.close_date,
        ods.org_code is not null as is_in_ods,
        successors.successor_code,
        coalesce(successors.is_split, false) as is_split_succession
    from codes
    left join ods
        on codes.org_code = ods.org_code
    left join latest_name
        on codes.org_code = latest_name.org_code and latest_name.recency = 1
    left join latest_survey_group
        on codes.org_code = latest_survey_group.org_code and latest_survey_group.recency = 1
    left join latest_sickness_type
        on codes.org_code = latest_sickness_type.org_code and latest_sickness_type.recency = 1
    left join latest_workforce_type
        on codes.org_code = latest_workforce_type.org_code and latest_workforce_type.recency = 1
    left join latest_geography
        on codes.org_code = latest_geography.org_code and latest_geography.recency = 1
    left join successors
        on codes.org_code = successors.old_code

),

typed as (

    select
        *,
        case
            when type_label is null then 'unknown'
            when type_label like '%specialist%' then 'acute specialist'
            when type_label like 'acute%' then 'acute'
            when type_label like '%ambulance%' then 'ambulance'
            when
                type_label like '%mental%'
                or type_label like 'mh%'
                or type_label like '%learning%disab%'
                then 'mental health'
            when type_label like '%community%' then 'community'
            else 'other'
        end as org_type
    from classified

)

select
    org_code,
    org_name,
    org_type,
    org_type_source,
    staff_survey_benchmark_group,
    region_code,
    icb_code,
    open_date,
    close_date,
    close_date is not null as is_closed,
    is_in_ods,
    successor_code,
    is_split_succession,
    coalesce(
        org_code in ({{ member_sql }})
        or (
            close_date is null
            and org_type in ('acute', 'acute specialist', 'mental health', 'community', 'ambulance')
            and (icb_code in ({{ icb_sql }}) or region_code in ({{ region_sql }}))
        ),
        false
    ) as is_network_member,
    cast('{{ var("network_name") | replace("'", "''") }}' as text) as network_name,
    case
        when org_type in ('acute', 'acute specialist', 'mental health', 'community', 'ambulance')
            then 'national_' || replace(org_type, ' ', '_')
    end as peer_group
from typed
