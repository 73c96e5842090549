-- The FFT question changed on 1 April 2020: "percentage recommended" before, "percentage
-- positive" after. The two series are never joined: fails for any value on the wrong side.
select
    fct.org_code,
    fct.metric_id,
    fct.period_start
from {{ ref('fct_culture_outcomes') }} as fct
inner join {{ ref('dim_metric') }} as metric
    on fct.metric_id = metric.metric_id
where
    metric.source = 'fft'
    and fct.value is not null
    and (
        (metric.measure = 'percentage_positive' and fct.period_start < cast('2020-04-01' as date))
        or (metric.measure = 'percentage_recommended' and fct.period_start >= cast('2020-04-01' as date))
    )
