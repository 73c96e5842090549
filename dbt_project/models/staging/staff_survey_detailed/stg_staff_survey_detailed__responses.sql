-- NHS Staff Survey detailed spreadsheets: question-level results by response option (annual).
-- One row per organisation, period, measure and breakdown, from the latest vintage.

{{ stage_observations('staff_survey_detailed', 'staff_survey_detailed') }}
