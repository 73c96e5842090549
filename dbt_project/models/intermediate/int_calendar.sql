-- One row per month from January of var calendar_first_year to December of var calendar_last_year:
-- calendar quarter, NHS financial year (April-March, e.g. '2024-25') and the Staff Survey year
-- whose outcome window (the financial year starting in April of survey year + var
-- outcome_financial_year_offset) contains the month.
with recursive month_index as (

    select 0 as month_number

    union all

    select month_number + 1 as month_number
    from month_index
    where
        month_number
        < ({{ var('calendar_last_year') }} - {{ var('calendar_first_year') }} + 1) * 12 - 1

),

months as (

    select
        make_date(
            cast({{ var('calendar_first_year') }} + floor(month_number / 12.0) as integer),
            cast(month_number % 12 + 1 as integer),
            1
        ) as month_start
    from month_index

),

parts as (

    select
        month_start,
        cast(month_start + interval '1 month' - interval '1 day' as date) as month_end,
        cast(extract(year from month_start) as integer) as calendar_year,
        cast(extract(month from month_start) as integer) as month_of_year
    from months

),

financial as (

    select
        *,
        cast(floor((month_of_year - 1) / 3.0) + 1 as integer) as quarter_of_year,
        case
            when month_of_year >= 4 then calendar_year else calendar_year - 1
        end as financial_year_start,
        cast(floor(((month_of_year + 8) % 12) / 3.0) + 1 as integer) as financial_quarter_number
    from parts

)

select
    month_start,
    month_end,
    calendar_year,
    month_of_year,
    quarter_of_year,
    cast(calendar_year as text) || '-Q' || cast(quarter_of_year as text) as calendar_quarter,
    cast(financial_year_start as integer) as financial_year_start,
    cast(financial_year_start as text)
    || '-'
    || right(cast(financial_year_start + 1 as text), 2) as financial_year,
    financial_quarter_number,
    cast(financial_year_start as text)
    || '-'
    || right(cast(financial_year_start + 1 as text), 2)
    || ' Q'
    || cast(financial_quarter_number as text) as financial_quarter,
    cast(
        financial_year_start - {{ var('outcome_financial_year_offset') }} as integer
    ) as survey_year,
    month_of_year in (9, 10, 11) as is_survey_fieldwork_month
from financial
