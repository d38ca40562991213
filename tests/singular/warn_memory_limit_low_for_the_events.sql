{{ config(severity='warn') }}
-- Not an error: a warning, right after the read, that there are more events per GiB of DuckDB's
-- memory limit than any whole build was measured to pass with (var max_events_per_memory_gib,
-- docs/scaling.md §3). At 100M events the default 3GB failed twice, after 28 minutes (int_interactions out of
-- DuckDB memory, customer_features' spill filling the disk); 8GB built it. Names the limit to
-- set. DuckDB only: other adapters manage their own memory.
{%- if target.type == 'duckdb' %}

with events as (

    select
        count(*) as event_count,
        cast(ceil(count(*) / {{ var('max_events_per_memory_gib') }}) as bigint) as suggested_gib
    from {{ ref('base_events_parsed') }}

),

memory_limit as (

    select
        shown,
        cast(regexp_extract(shown, '^([0-9.]+) ', 1) as double) * case regexp_extract(shown, ' (\w+)$', 1)
            when 'bytes' then 1
            when 'KiB' then 1024
            when 'MiB' then 1024 * 1024
            when 'GiB' then 1024 * 1024 * 1024
            when 'TiB' then 1024 * 1024 * 1024 * 1024
        end / (1024 * 1024 * 1024) as gib
    from (select current_setting('memory_limit') as shown)

)

select
    events.event_count,
    memory_limit.shown as memory_limit,
    events.suggested_gib as suggested_memory_limit_gib,
    events.event_count || ' events for DuckDB''s memory limit of ' || memory_limit.shown
    || ': more events per GiB than any build measured to pass ('
    || {{ var('max_events_per_memory_gib') }} || ', var max_events_per_memory_gib); set '
    || 'AMAZING_MEMORY_LIMIT to at least '
    || events.suggested_gib || 'GiB and keep free disk for the spill (docs/scaling.md §3); '
    || 'beyond the machine''s memory, see docs/scaling.md §4' as message
from events
cross join memory_limit
where events.event_count > {{ var('max_events_per_memory_gib') }} * memory_limit.gib
{%- else %}

select 1 as event_count where false
{%- endif %}
