{{ config(materialized="table") }}

-- Every catalogued observation from every staged source in one long table, with its metric_id
-- (metric catalogue joined on source, measure and breakdown), this project's disclosure rules
-- applied, and the organisation attributed to its final successor when var successor_attribution
-- is 'successor'. Where several published organisations land on one successor in the same
-- period: additive metrics (catalogue aggregation 'sum' or 'ratio_of_sums') are combined from
-- their numerators and denominators; non-additive metrics (scores) stay under the codes they
-- were published under.
{%- set observation_models = [
    ('sickness_absence', 'stg_sickness_absence__rates'),
    ('sickness_absence_staff_group', 'stg_sickness_absence_staff_group__rates'),
    ('sickness_absence_reason', 'stg_sickness_absence_reason__days_lost'),
    ('staff_survey_benchmark', 'stg_staff_survey_benchmark__scores'),
    ('staff_survey_detailed', 'stg_staff_survey_detailed__responses'),
    ('fft', 'stg_fft__responses'),
    ('workforce_staff_in_post', 'stg_workforce_staff_in_post__staff_in_post'),
    ('turnover', 'stg_turnover__flows'),
] %}
{%- set attribute_to_successor = var('successor_attribution') == 'successor' %}

with observations as (
    {% for source_id, model_name in observation_models %}
        select
            '{{ source_id }}' as source,
            org_code,
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
            vintage,
            extract_sha256
        from {{ ref(model_name) }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

catalogue as (

    select
        metric_id,
        source,
        measure,
        breakdown,
        aggregation
    from {{ ref('metric_catalogue') }}

),

catalogued as (

    select
        observations.*,
        catalogue.metric_id,
        catalogue.aggregation,
        (
            observations.source = 'fft'
            and observations.measure in (
                'percentage_positive', 'percentage_negative', 'percentage_recommended'
            )
            and observations.denominator < {{ var('patient_experience_min_count') }}
        )
        or (
            observations.source = 'staff_survey_benchmark'
            and observations.unit = 'score_0_10'
            and observations.denominator < {{ var('staff_survey_min_responses') }}
        ) as below_min_count
    from observations
    inner join catalogue
        on
            observations.source = catalogue.source
            and observations.measure = catalogue.measure
            and observations.breakdown = catalogue.breakdown

),

disclosed as (

    select
        source,
        org_code,
        period_start,
        period_end,
        grain,
        measure,
        breakdown,
        metric_id,
        aggregation,
        unit,
        case when suppressed or coalesce(below_min_count, false) then null else value end as value,
        case
            when coalesce(below_min_count, false) then null else numerator
        end as numerator,
        -- a small count is itself disclosive: withhold it with the value (BI users see the marts)
        case
            when coalesce(below_min_count, false) then null else denominator
        end as denominator,
        suppressed or coalesce(below_min_count, false) as suppressed,
        case
            when suppressed then suppression_token
            when coalesce(below_min_count, false) then 'below_min_count'
        end as suppression_token,
        vintage,
        extract_sha256
    from catalogued

),

attributed as (

    select
        disclosed.*,
        {% if attribute_to_successor -%}
            coalesce(successors.successor_code, disclosed.org_code)
        {%- else -%}
            disclosed.org_code
        {%- endif %} as candidate_org_code
    from disclosed
    left join {{ ref('int_successors_resolved') }} as successors
        on disclosed.org_code = successors.old_code

),

collisions as (

    select
        candidate_org_code,
        metric_id,
        period_start,
        period_end,
        count(distinct org_code) as n_published_orgs
    from attributed
    group by candidate_org_code, metric_id, period_start, period_end

),

resolved as (

    select
        attributed.*,
        case
            when collisions.n_published_orgs > 1 and attributed.aggregation not in ('sum', 'ratio_of_sums')
                then attributed.org_code
            else attributed.candidate_org_code
        end as attributed_org_code
    from attributed
    inner join collisions
        on
            attributed.candidate_org_code = collisions.candidate_org_code
            and attributed.metric_id = collisions.metric_id
            and attributed.period_start = collisions.period_start
            and attributed.period_end = collisions.period_end

),

combined as (

    select
        attributed_org_code as org_code,
        metric_id,
        source,
        measure,
        breakdown,
        unit,
        aggregation,
        period_start,
        period_end,
        grain,
        count(*) as n_rows,
        case
            when count(*) = 1 then max(value)
            when bool_or(suppressed) then null
            when aggregation = 'sum' and count(value) = count(*) then sum(value)
            when
                aggregation = 'ratio_of_sums'
                and count(numerator) = count(*)
                and count(denominator) = count(*)
                and sum(denominator) > 0
                then sum(numerator) / sum(denominator) * (case when unit = 'percent' then 100.0 else 1.0 end)
        end as value,
        case
            when count(numerator) = count(*) then sum(numerator)
        end as numerator,
        case
            when count(denominator) = count(*) then sum(denominator)
        end as denominator,
        bool_or(suppressed) as suppressed,
        min(suppression_token) as suppression_token,
        max(vintage) as vintage,
        string_agg(distinct extract_sha256, ',' order by extract_sha256) as extract_sha256,
        string_agg(distinct org_code, ',' order by org_code) as published_org_codes,
        count(distinct org_code) as n_published_orgs,
        max(org_code) as any_published_org_code
    from resolved
    group by
        attributed_org_code,
        metric_id,
        source,
        measure,
        breakdown,
        unit,
        aggregation,
        period_start,
        period_end,
        grain

)

select
    org_code,
    metric_id,
    source,
    measure,
    breakdown,
    unit,
    aggregation,
    period_start,
    period_end,
    grain,
    cast(value as double precision) as value,
    cast(numerator as double precision) as numerator,
    cast(denominator as double precision) as denominator,
    suppressed,
    suppression_token,
    vintage,
    extract_sha256,
    published_org_codes,
    cast(n_published_orgs as integer) as n_published_orgs,
    case
        when n_published_orgs > 1 then 'successor_combined'
        when any_published_org_code <> org_code then 'successor'
        else 'as_published'
    end as attribution
from combined
