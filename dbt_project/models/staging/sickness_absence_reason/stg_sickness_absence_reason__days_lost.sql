-- NHS Sickness Absence Rates by reason (monthly).
-- One row per organisation, period, measure and breakdown, from the latest vintage.

{{ stage_observations('sickness_absence_reason', 'sickness_absence_reason') }}
