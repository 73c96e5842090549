-- Spearman rank correlation between each culture metric and each outcome metric across trusts,
-- per Staff Survey year and scope (national: every trust; network: the network's members).
-- rho = Pearson correlation of average ranks (ties share their mean rank); 95% interval by
-- Fisher's z with the Fieller, Hartley and Pearson standard error 1.06 / sqrt(n - 3). Published
-- only across at least var association_min_trusts (10) trusts, else null with the reason.
with yearly as (

    select
        yearly.org_code,
        yearly.survey_year,
        yearly.metric_id,
        yearly.domain_type,
        yearly.value,
        coalesce(organisations.is_network_member, false) as is_network_member
    from {{ ref('int_trust_year_metrics') }} as yearly
    left join {{ ref('int_organisations_conformed') }} as organisations
        on yearly.org_code = organisations.org_code
    where
        yearly.value is not null
        and yearly.domain_type in ('culture', 'outcome')
        and coalesce(organisations.org_type, 'unknown') <> 'other'

),

scoped as (

    select
        'national' as scope,
        yearly.*
    from yearly

    union all

    select
        'network' as scope,
        yearly.*
    from yearly
    where is_network_member

),

pairs as (

    select
        culture.scope,
        culture.survey_year,
        culture.metric_id as culture_metric_id,
        outcome.metric_id as outcome_metric_id,
        culture.org_code,
        culture.value as culture_value,
        outcome.value as outcome_value
    from scoped as culture
    inner join scoped as outcome
        on
            culture.scope = outcome.scope
            and culture.survey_year = outcome.survey_year
            and culture.org_code = outcome.org_code
    where culture.domain_type = 'culture' and outcome.domain_type = 'outcome'

),

ranked as (

    select
        scope,
        survey_year,
        culture_metric_id,
        outcome_metric_id,
        cast(
            rank() over (
                partition by scope, survey_year, culture_metric_id, outcome_metric_id
                order by culture_value
            ) as double precision
        )
        + (
            count(*) over (
                partition by scope, survey_year, culture_metric_id, outcome_metric_id, culture_value
            ) - 1
        ) / 2.0 as culture_rank,
        cast(
            rank() over (
                partition by scope, survey_year, culture_metric_id, outcome_metric_id
                order by outcome_value
            ) as double precision
        )
        + (
            count(*) over (
                partition by scope, survey_year, culture_metric_id, outcome_metric_id, outcome_value
            ) - 1
        ) / 2.0 as outcome_rank
    from pairs

),

correlations as (

    select
        scope,
        survey_year,
        culture_metric_id,
        outcome_metric_id,
        count(*) as n_trusts,
        -- Rounded to 12 decimals, far below any published digit: the floating-point sums leave
        -- a perfect correlation of 11 trusts at 0.9999999999999998, which would get a Fisher
        -- interval instead of its reason (and parallel sums could differ between builds).
        round(
            covar_pop(cast(culture_rank as double precision), cast(outcome_rank as double precision))
            / nullif(
                stddev_pop(cast(culture_rank as double precision))
                * stddev_pop(cast(outcome_rank as double precision)),
                0
            ) * 1000000000000.0
        ) / 1000000000000.0 as raw_rho
    from ranked
    group by scope, survey_year, culture_metric_id, outcome_metric_id

),

survey_years as (

    select distinct survey_year
    from yearly
    where domain_type = 'culture'

),

scopes as (

    select 'national' as scope

    union all

    select 'network' as scope

),

culture_metrics as (

    select
        metric_id,
        domain
    from {{ ref('metric_catalogue') }}
    where domain_type = 'culture'

),

outcome_metrics as (

    select
        metric_id,
        domain
    from {{ ref('metric_catalogue') }}
    where domain_type = 'outcome'

),

grid as (

    select
        survey_years.survey_year,
        scopes.scope,
        culture_metrics.metric_id as culture_metric_id,
        culture_metrics.domain as culture_domain,
        outcome_metrics.metric_id as outcome_metric_id,
        outcome_metrics.domain as outcome_domain
    from survey_years
    cross join scopes
    cross join culture_metrics
    cross join outcome_metrics

),

measured as (

    select
        grid.*,
        coalesce(correlations.n_trusts, 0) as n_trusts,
        case
            when correlations.raw_rho > 1 then 1.0
            when correlations.raw_rho < -1 then -1.0
            else correlations.raw_rho
        end as rho
    from grid
    left join correlations
        on
            grid.survey_year = correlations.survey_year
            and grid.scope = correlations.scope
            and grid.culture_metric_id = correlations.culture_metric_id
            and grid.outcome_metric_id = correlations.outcome_metric_id

),

published as (

    select
        *,
        case
            when n_trusts < {{ var('association_min_trusts') }}
                then 'fewer than {{ var("association_min_trusts") }} trusts with both values'
            when rho is null then 'no variation in ranks'
            when abs(rho) >= 1 then 'perfect rank correlation: Fisher z undefined'
        end as null_reason,
        case
            when n_trusts >= {{ var('association_min_trusts') }} and rho is not null and abs(rho) < 1
                then 0.5 * ln((1 + rho) / (1 - rho))
        end as fisher_z,
        case
            when n_trusts >= {{ var('association_min_trusts') }}
                then 1.06 / sqrt(cast(n_trusts - 3 as double precision))
        end as fisher_z_se
    from measured

)

select
    cast(survey_year as integer) as survey_year,
    cast(scope as text) as scope,
    cast(
        case when scope = 'network' then '{{ var("network_name") | replace("'", "''") }}' else 'England' end
        as text
    ) as scope_name,
    cast(culture_metric_id as text) as culture_metric_id,
    cast(culture_domain as text) as culture_domain,
    cast(outcome_metric_id as text) as outcome_metric_id,
    cast(outcome_domain as text) as outcome_domain,
    cast(n_trusts as integer) as n_trusts,
    cast(
        case when n_trusts >= {{ var('association_min_trusts') }} then rho end as double precision
    ) as spearman_rho,
    cast(tanh(fisher_z - 1.959964 * fisher_z_se) as double precision) as ci_lower,
    cast(tanh(fisher_z + 1.959964 * fisher_z_se) as double precision) as ci_upper,
    cast(fisher_z_se as double precision) as fisher_z_se,
    cast('spearman_average_ranks; fisher_z_95ci_se_1.06_over_sqrt_n_minus_3' as text) as method,
    cast(null_reason as text) as null_reason
from published
