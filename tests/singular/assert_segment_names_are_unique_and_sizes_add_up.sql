-- Segment names are unique per segment id, and the profiles count every visitor exactly once.
with names as (
    select segment_name, count(distinct segment_id) as ids
    from {{ ref('customer_segments') }}
    group by segment_name
    having count(distinct segment_id) > 1
),

sizes as (
    select
        (select sum(customer_count) from {{ ref('segment_profiles') }}) as profiled,
        (select count(*) from {{ ref('customer_features') }}) as visitors
)

select 'name shared by several segments: ' || segment_name as problem from names
union all
select 'profiles count ' || profiled || ' of ' || visitors || ' visitors' from sizes where profiled <> visitors
