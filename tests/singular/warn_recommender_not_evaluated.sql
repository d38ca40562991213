{{ config(severity='warn') }}
-- Not an error: a documented fallback. Shows in the build log, with the reason, when the data
-- were too few for the recommenders' temporal split, or the test users too few to be evidence
-- for anything but popularity, so global popularity serves.
select model, status, message
from {{ ref('recommender_evaluation') }}
where status = 'fallback'
    or (status = 'not_enough_evidence' and slice_type = 'all' and metric = 'ndcg' and is_selected)
