{#-
    Use a model's custom schema (+schema in dbt_project.yml) as it is, without dbt's default
    "<target schema>_" prefix, so the warehouse has exactly the schemas staging, intermediate and
    marts on every target. Nodes without a custom schema go to the target's schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
