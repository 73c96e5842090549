-- Metric dimension: the metric catalogue seed, one row per metric.
select
    cast(metric_id as text) as metric_id,
    cast(metric_name as text) as metric_name,
    cast(description as text) as description,
    cast(source as text) as source,
    cast(measure as text) as measure,
    cast(breakdown as text) as breakdown,
    cast(domain_type as text) as domain_type,
    cast(domain as text) as domain,
    cast(unit as text) as unit,
    cast(polarity as text) as polarity,
    cast(grain as text) as grain,
    cast(numerator_definition as text) as numerator_definition,
    cast(denominator_definition as text) as denominator_definition,
    cast(benchmark_method as text) as benchmark_method,
    cast(target as double precision) as target,
    cast(aggregation as text) as aggregation
from {{ ref('metric_catalogue') }}
