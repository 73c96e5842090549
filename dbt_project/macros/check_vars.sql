{#- Run at the start of every invocation (on-run-start): refuse invalid project variables. -#}
{% macro check_vars() %}
    {%- set attribution = var('successor_attribution') -%}
    {%- if attribution not in ['successor', 'as_published'] -%}
        {{ exceptions.raise_compiler_error(
            "var successor_attribution must be 'successor' or 'as_published', got '" ~ attribution ~ "'") }}
    {%- endif -%}
    {%- for name in ['staff_survey_min_responses', 'patient_experience_min_count', 'association_min_trusts',
                     'outcome_financial_year_offset', 'calendar_first_year', 'calendar_last_year'] -%}
        {%- if var(name) is not number -%}
            {{ exceptions.raise_compiler_error("var " ~ name ~ " must be a number, got '" ~ var(name) ~ "'") }}
        {%- endif -%}
    {%- endfor -%}
    {%- if var('association_min_trusts') < 4 -%}
        {{ exceptions.raise_compiler_error("var association_min_trusts must be at least 4 (Fisher z needs n > 3)") }}
    {%- endif -%}
    {%- if var('network_members') is string or var('network_members') is not iterable -%}
        {{ exceptions.raise_compiler_error("var network_members must be a list of ODS codes") }}
    {%- endif -%}
    select 1 as vars_checked
{% endmacro %}
