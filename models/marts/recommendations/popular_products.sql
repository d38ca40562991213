{#-
    The cold-start path for a visitor without history (or an opt-out): the most popular products
    right now, overall and per context a page can give (a category family, a category), by the
    same recency-weighted popularity the popularity recommender uses (sum of the decayed
    serving weights). Top recommender_top_n per context.
-#}

with popularity as (

    select product_id, {{ exact_sum('weight') }} as score
    from {{ ref('int_interactions') }}
    where split = 'serving'
    group by product_id

),

products as (

    select
        popularity.product_id,
        popularity.score,
        features.category_level_1,
        features.category_code,
        features.category_id
    from popularity
    inner join {{ ref('int_recommender_product_features') }} as features
        on popularity.product_id = features.product_id

),

contexts as (

    select 'all' as context_type, 'all' as context, product_id, score, 'Popular right now' as reason
    from products
    union all
    select 'category_family', category_level_1, product_id, score, 'Popular in ' || category_level_1
    from products
    where category_level_1 <> 'unknown'
    union all
    select
        'category',
        cast(category_id as varchar),
        product_id,
        score,
        'Popular in ' || case when category_code = 'unknown' then 'category ' || category_id else category_code end
    from products
    where category_id is not null

),

ranked as (

    select
        *,
        row_number() over (partition by context_type, context order by score desc, product_id) as rank
    from contexts

)

select context_type, context, product_id, rank, score, reason
from ranked
where rank <= {{ var('recommender_top_n') }}
