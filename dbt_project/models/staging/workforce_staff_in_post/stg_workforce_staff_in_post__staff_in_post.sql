-- NHS Workforce Statistics, staff in post by staff group and organisation (monthly, cumulative).
-- One row per organisation, period, measure and breakdown, from the latest vintage.

{{ stage_observations('workforce_staff_in_post', 'workforce_staff_in_post') }}
