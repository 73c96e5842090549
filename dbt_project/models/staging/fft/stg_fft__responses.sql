-- Friends and Family Test, trust level, all settings (monthly).
-- One row per organisation, period, measure and breakdown, from the latest vintage.

{{ stage_observations('fft', 'fft') }}
