{{ config(severity='warn') }}
-- Not an error: with fewer than 10 segmented customers the cluster map is empty (a projection
-- of a handful of points says nothing). Shows in the build log when it happens.
select 'segment_map is empty: too few segmented customers' as message
where not exists (select 1 from {{ ref('segment_map') }})
