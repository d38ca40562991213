{{ config(severity='warn') }}
-- Not an error: a documented fallback. Shows in the build log, with the reason, when the data
-- were too few for the recommenders' temporal split, so global popularity serves.
select model, message from {{ ref('recommender_evaluation') }} where status = 'fallback'
