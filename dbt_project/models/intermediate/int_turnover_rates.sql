-- Staff turnover (leaver) rate per organisation and twelve-month window, all staff:
--   leavers FTE / ((denominator FTE at the start month + denominator FTE at the end month) / 2)
-- computed after successor attribution, so a merged trust's rate uses its combined leavers and
-- staff in post. Null (never zero) when a component is missing, suppressed or not positive.
with observations as (

    select *
    from {{ ref('int_observations_unioned') }}
    where
        metric_id in ('turnover_leavers_fte', 'turnover_denominator_fte')
        and breakdown = 'all'

),

leavers as (

    select
        org_code,
        period_start,
        period_end,
        value as leavers_fte,
        suppressed,
        vintage,
        extract_sha256,
        published_org_codes,
        attribution
    from observations
    where metric_id = 'turnover_leavers_fte' and grain = 'rolling_12m'

),

denominators as (

    select
        org_code,
        period_start as snapshot_month,
        value as denominator_fte,
        suppressed,
        vintage
    from observations
    where metric_id = 'turnover_denominator_fte' and grain = 'month'

),

joined as (

    select
        leavers.org_code,
        leavers.period_start,
        leavers.period_end,
        leavers.leavers_fte,
        start_snapshot.denominator_fte as denominator_start_fte,
        end_snapshot.denominator_fte as denominator_end_fte,
        coalesce(leavers.suppressed, false)
        or coalesce(start_snapshot.suppressed, false)
        or coalesce(end_snapshot.suppressed, false) as suppressed,
        greatest(
            leavers.vintage,
            coalesce(start_snapshot.vintage, leavers.vintage),
            coalesce(end_snapshot.vintage, leavers.vintage)
        ) as vintage,
        leavers.extract_sha256,
        leavers.published_org_codes,
        leavers.attribution
    from leavers
    left join denominators as start_snapshot
        on
            leavers.org_code = start_snapshot.org_code
            and leavers.period_start = start_snapshot.snapshot_month
    left join denominators as end_snapshot
        on
            leavers.org_code = end_snapshot.org_code
            and cast(date_trunc('month', leavers.period_end) as date) = end_snapshot.snapshot_month

)

select
    org_code,
    cast('turnover_leaver_rate' as text) as metric_id,
    cast('turnover' as text) as source,
    cast('leaver_rate_fte' as text) as measure,
    cast('all' as text) as breakdown,
    cast('fraction' as text) as unit,
    period_start,
    period_end,
    cast('rolling_12m' as text) as grain,
    cast(
        case
            when
                not suppressed
                and leavers_fte is not null
                and denominator_start_fte > 0
                and denominator_end_fte > 0
                then leavers_fte / ((denominator_start_fte + denominator_end_fte) / 2.0)
        end as double precision
    ) as value,
    cast(leavers_fte as double precision) as numerator,
    cast((denominator_start_fte + denominator_end_fte) / 2.0 as double precision) as denominator,
    cast(denominator_start_fte as double precision) as denominator_start_fte,
    cast(denominator_end_fte as double precision) as denominator_end_fte,
    suppressed,
    case
        when denominator_start_fte is null or denominator_end_fte is null then 'missing_denominator'
        when leavers_fte is null then 'missing_leavers'
    end as missing_reason,
    vintage,
    extract_sha256,
    published_org_codes,
    attribution
from joined
