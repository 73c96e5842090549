{{ config(materialized="table") }}

-- One value per organisation, Staff Survey year and catalogued metric, for setting culture next
-- to outcomes. Culture (survey) metrics take the survey year's value. Outcomes and context are
-- taken over the outcome window: the financial year starting in April of survey year + var
-- outcome_financial_year_offset (default 1, the financial year following fieldwork):
--   rate metrics (sickness absence)       sum of numerators / sum of denominators over the months
--   proportion metrics (FFT % positive)   mean of the monthly values (suppressed months left out)
--   FTE / headcount snapshots             the snapshot at the end of the window (March)
--   other monthly counts                  sum over the months
--   rolling twelve-month metrics          the window ending on 31 March (turnover leaver rate)
with observations as (

    select
        org_code,
        metric_id,
        period_start,
        period_end,
        grain,
        value,
        numerator,
        denominator,
        suppressed
    from {{ ref('int_observations_unioned') }}

    union all

    select
        org_code,
        metric_id,
        period_start,
        period_end,
        grain,
        value,
        numerator,
        denominator,
        suppressed
    from {{ ref('int_turnover_rates') }}

),

metrics as (

    select
        metric_id,
        domain_type,
        unit,
        benchmark_method
    from {{ ref('metric_catalogue') }}
    where domain_type in ('culture', 'outcome', 'context')

),

survey_years as (

    select distinct cast(extract(year from period_start) as integer) as survey_year
    from observations
    where grain = 'survey_year'

),

windows as (

    select
        survey_year,
        make_date(survey_year + {{ var('outcome_financial_year_offset') }}, 4, 1) as window_start,
        make_date(survey_year + {{ var('outcome_financial_year_offset') }} + 1, 3, 31) as window_end,
        make_date(survey_year + {{ var('outcome_financial_year_offset') }} + 1, 3, 1) as last_month_start,
        cast(survey_year + {{ var('outcome_financial_year_offset') }} as text)
        || '-'
        || right(cast(survey_year + {{ var('outcome_financial_year_offset') }} + 1 as text), 2)
            as outcome_financial_year
    from survey_years

),

survey_values as (

    select
        observations.org_code,
        windows.survey_year,
        observations.metric_id,
        observations.value,
        1 as n_periods,
        'survey_year_value' as annual_method
    from observations
    inner join windows
        on cast(extract(year from observations.period_start) as integer) = windows.survey_year
    where observations.grain = 'survey_year'

),

monthly_values as (

    select
        observations.org_code,
        windows.survey_year,
        observations.metric_id,
        case
            when metrics.benchmark_method = 'rate'
                then
                    sum(observations.numerator) filter (
                        where not observations.suppressed
                        and observations.numerator is not null
                        and observations.denominator > 0
                    )
                    / nullif(sum(observations.denominator) filter (
                        where not observations.suppressed
                        and observations.numerator is not null
                        and observations.denominator > 0
                    ), 0)
                    * (case when metrics.unit = 'percent' then 100.0 else 1.0 end)
            when metrics.benchmark_method = 'proportion' then avg(observations.value)
            when metrics.unit in ('fte', 'headcount')
                then max(
                        case
                            when observations.period_start = windows.last_month_start then observations.value
                        end
                    )
            else sum(observations.value)
        end as value,
        case
            when metrics.unit in ('fte', 'headcount') and metrics.benchmark_method not in ('rate', 'proportion')
                then count(
                        case
                            when observations.period_start = windows.last_month_start then observations.value
                        end
                    )
            else count(observations.value)
        end as n_periods,
        case
            when metrics.benchmark_method = 'rate' then 'ratio_of_summed_months'
            when metrics.benchmark_method = 'proportion' then 'mean_of_months'
            when metrics.unit in ('fte', 'headcount') then 'snapshot_at_window_end'
            else 'sum_of_months'
        end as annual_method
    from observations
    inner join metrics
        on observations.metric_id = metrics.metric_id
    inner join windows
        on observations.period_start between windows.window_start and windows.window_end
    where observations.grain = 'month'
    group by
        observations.org_code,
        windows.survey_year,
        observations.metric_id,
        metrics.benchmark_method,
        metrics.unit

),

rolling_candidates as (

    select
        observations.org_code,
        windows.survey_year,
        observations.metric_id,
        observations.value,
        row_number() over (
            partition by observations.org_code, windows.survey_year, observations.metric_id
            order by observations.period_start desc
        ) as preference
    from observations
    inner join windows
        on observations.period_end = windows.window_end
    where observations.grain = 'rolling_12m'

),

rolling_values as (

    select
        org_code,
        survey_year,
        metric_id,
        value,
        1 as n_periods,
        'twelve_months_to_window_end' as annual_method
    from rolling_candidates
    where preference = 1

),

all_values as (

    select * from survey_values
    union all
    select * from monthly_values
    union all
    select * from rolling_values

)

select
    all_values.org_code,
    all_values.survey_year,
    windows.outcome_financial_year,
    all_values.metric_id,
    metrics.domain_type,
    cast(all_values.value as double precision) as value,
    cast(all_values.n_periods as integer) as n_periods,
    all_values.annual_method
from all_values
inner join metrics
    on all_values.metric_id = metrics.metric_id
inner join windows
    on all_values.survey_year = windows.survey_year
