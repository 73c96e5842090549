-- Organisation dimension for the BI tools and the published release.
select
    cast(org_code as text) as org_code,
    cast(org_name as text) as org_name,
    cast(org_type as text) as org_type,
    cast(org_type_source as text) as org_type_source,
    cast(staff_survey_benchmark_group as text) as staff_survey_benchmark_group,
    cast(region_code as text) as region_code,
    cast(icb_code as text) as icb_code,
    cast(open_date as date) as open_date,
    cast(close_date as date) as close_date,
    cast(is_closed as boolean) as is_closed,
    cast(is_in_ods as boolean) as is_in_ods,
    cast(successor_code as text) as successor_code,
    cast(is_split_succession as boolean) as is_split_succession,
    cast(is_network_member as boolean) as is_network_member,
    cast(network_name as text) as network_name,
    cast(peer_group as text) as peer_group
from {{ ref('int_organisations_conformed') }}
