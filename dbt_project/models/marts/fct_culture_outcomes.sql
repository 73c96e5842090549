-- One row per organisation, metric and period: every catalogued published observation plus the
-- derived turnover leaver rate, with financial year, Staff Survey year and lineage.
with observations as (

    select
        org_code,
        metric_id,
        source,
        period_start,
        period_end,
        grain,
        value,
        numerator,
        denominator,
        suppressed,
        vintage,
        extract_sha256,
        published_org_codes,
        attribution
    from {{ ref('int_observations_unioned') }}

    union all

    select
        org_code,
        metric_id,
        source,
        period_start,
        period_end,
        grain,
        value,
        numerator,
        denominator,
        suppressed,
        vintage,
        extract_sha256,
        published_org_codes,
        attribution
    from {{ ref('int_turnover_rates') }}

),

calendar as (

    select * from {{ ref('int_calendar') }}

),

dated as (

    select
        observations.*,
        case
            when observations.grain = 'survey_year'
                then cast(extract(year from observations.period_start) as integer)
            else calendar.survey_year
        end as survey_year,
        calendar.financial_year
    from observations
    left join calendar
        on
            calendar.month_start = case
                when observations.grain = 'rolling_12m'
                    then cast(date_trunc('month', observations.period_end) as date)
                else cast(date_trunc('month', observations.period_start) as date)
            end

)

select
    cast(org_code as text) as org_code,
    cast(metric_id as text) as metric_id,
    cast(period_start as date) as period_start,
    cast(period_end as date) as period_end,
    cast(grain as text) as grain,
    cast(survey_year as integer) as survey_year,
    cast(financial_year as text) as financial_year,
    cast(value as double precision) as value,
    cast(numerator as double precision) as numerator,
    cast(denominator as double precision) as denominator,
    cast(suppressed as boolean) as suppressed,
    cast(vintage as text) as vintage,
    cast(extract_sha256 as text) as extract_sha256,
    cast(source as text) as source,
    cast(published_org_codes as text) as published_org_codes,
    cast(attribution as text) as attribution
from dated
