{#- The served LightFM's user side (users with interactions, opt-outs excluded). -#}

select
    entity_id as user_id,
    bias as user_bias,
    embedding,
    interaction_count as product_count,
    model,
    components
from {{ ref('recommender_embeddings') }}
where entity = 'user'
