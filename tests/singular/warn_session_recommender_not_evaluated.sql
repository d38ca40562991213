{{ config(severity='warn') }}
-- Not an error: a documented fallback. Shows in the build log, with the reason, when the session
-- evaluation had too few test sessions (or no LightFM embeddings), so the simpler model serves.
select model, metric, message
from {{ ref('session_recommender_evaluation') }}
where status <> 'ok' and slice_type = 'all'
