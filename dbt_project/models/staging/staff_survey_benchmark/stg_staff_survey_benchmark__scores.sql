-- NHS Staff Survey benchmark report data: People Promise element, sub-score and theme scores (annual).
-- One row per organisation, period, measure and breakdown, from the latest vintage.

{{ stage_observations('staff_survey_benchmark', 'staff_survey_benchmark') }}
