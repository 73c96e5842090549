-- NHS Sickness Absence Rates, benchmarking file by staff group (monthly).
-- One row per organisation, period, measure and breakdown, from the latest vintage.

{{ stage_observations('sickness_absence_staff_group', 'sickness_absence_staff_group') }}
