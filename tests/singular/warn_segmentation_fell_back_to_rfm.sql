{{ config(severity='warn') }}
-- Not an error: a documented fallback. Shows in the build log, with the reason, when there were
-- too few customers to cluster and customer_segments used the RFM segments only.
select status, message from {{ ref('segmentation_quality') }} where status = 'fallback'
