-- Wide table for the dashboard: one row per trust and Staff Survey year, culture scores next to
-- outcomes. Outcomes cover the outcome window of int_trust_year_metrics: the financial year
-- starting in April of survey year + var outcome_financial_year_offset (default 1: the financial
-- year following fieldwork, e.g. survey 2023 -> 2024-25), so culture is measured before the
-- outcomes set against it.
{%- set culture_columns = [
    ('theme_engagement', 'ss_theme_engagement'),
    ('theme_morale', 'ss_theme_morale'),
    ('pp1_compassionate_inclusive', 'ss_pp1'),
    ('pp2_recognised_rewarded', 'ss_pp2'),
    ('pp3_voice_that_counts', 'ss_pp3'),
    ('pp4_safe_healthy', 'ss_pp4'),
    ('pp5_always_learning', 'ss_pp5'),
    ('pp6_work_flexibly', 'ss_pp6'),
    ('pp7_we_are_a_team', 'ss_pp7'),
    ('pp4_2_burnout', 'ss_pp4_2'),
] %}

with yearly as (

    select * from {{ ref('int_trust_year_metrics') }}

),

organisations as (

    select * from {{ ref('int_organisations_conformed') }}

),

pivoted as (

    select
        org_code,
        survey_year,
        max(outcome_financial_year) as outcome_financial_year,
        {% for column_name, metric_id in culture_columns -%}
            max(case when metric_id = '{{ metric_id }}' then value end) as {{ column_name }},
        {% endfor -%}
        max(case when metric_id = 'fft_inpatient_pct_positive' then value end)
            as fft_inpatient_pct_positive,
        max(case when metric_id = 'fft_inpatient_pct_positive' then n_periods end)
            as fft_inpatient_months,
        max(case when metric_id = 'sickness_absence_rate' then value end) as sickness_absence_rate,
        max(case when metric_id = 'sickness_absence_rate' then n_periods end)
            as sickness_absence_months,
        max(case when metric_id = 'turnover_leaver_rate' then value end) as turnover_leaver_rate,
        max(case when metric_id = 'staff_in_post_fte' then value end) as staff_in_post_fte
    from yearly
    group by org_code, survey_year

)

select
    cast(pivoted.org_code as text) as org_code,
    cast(organisations.org_name as text) as org_name,
    cast(organisations.org_type as text) as org_type,
    cast(organisations.peer_group as text) as peer_group,
    cast(organisations.region_code as text) as region_code,
    cast(organisations.icb_code as text) as icb_code,
    cast(coalesce(organisations.is_network_member, false) as boolean) as is_network_member,
    cast(pivoted.survey_year as integer) as survey_year,
    cast(pivoted.outcome_financial_year as text) as outcome_financial_year,
    {% for column_name, metric_id in culture_columns -%}
        cast(pivoted.{{ column_name }} as double precision) as {{ column_name }},
    {% endfor -%}
    cast(pivoted.fft_inpatient_pct_positive as double precision) as fft_inpatient_pct_positive,
    cast(coalesce(pivoted.fft_inpatient_months, 0) as integer) as fft_inpatient_months,
    cast(pivoted.sickness_absence_rate as double precision) as sickness_absence_rate,
    cast(coalesce(pivoted.sickness_absence_months, 0) as integer) as sickness_absence_months,
    cast(pivoted.turnover_leaver_rate as double precision) as turnover_leaver_rate,
    cast(pivoted.staff_in_post_fte as double precision) as staff_in_post_fte
from pivoted
left join organisations
    on pivoted.org_code = organisations.org_code
where coalesce(organisations.org_type, 'unknown') <> 'other'
