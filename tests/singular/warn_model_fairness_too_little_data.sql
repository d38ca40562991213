{{ config(severity='warn') }}
-- Not an error: a model family with no slice the bias audit could judge (the model was not
-- trained or evaluated, or every slice is smaller than var fairness_min_slice_size).
-- Add a family here when its CTE is added to int_model_fairness_slices.
with expected as (

    select * from (values ('propensity'), ('segmentation'), ('batch_recommender'), ('session_recommender'), ('forecasting'))
        as families(model_family)

),

judged as (

    select distinct model_family
    from {{ ref('model_fairness_audit') }}
    where slice_type <> 'all' and status in ('ok', 'flagged')

)

select
    expected.model_family,
    'no slice could be judged: too little data, or the model was not evaluated' as message
from expected
where expected.model_family not in (select model_family from judged)
