-- NHS Sickness Absence Rates, organisation level (monthly).
-- One row per organisation, period, measure and breakdown, from the latest vintage.

{{ stage_observations('sickness_absence', 'sickness_absence') }}
