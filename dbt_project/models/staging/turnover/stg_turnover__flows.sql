-- NHS Workforce Statistics, organisation-level turnover: leavers, joiners and denominators (monthly).
-- One row per organisation, period, measure and breakdown, from the latest vintage.

{{ stage_observations('turnover', 'turnover') }}
