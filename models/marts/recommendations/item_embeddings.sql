{#- The served LightFM's product side: score(user, product) = user embedding . item embedding
    + item_bias. Products without interactions have one too (from their content features). -#}

select
    entity_id as product_id,
    bias as item_bias,
    embedding,
    interaction_count as user_count,
    model,
    components
from {{ ref('recommender_embeddings') }}
where entity = 'item'
