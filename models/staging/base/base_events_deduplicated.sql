{{
    config(
        materialized='table',
        post_hook=["{{ persist_csv_read_errors(this) }}"],
    )
}}
{#-
    The one full read of the raw files. In a single pass it
    - drops exact duplicate rows (identical in all nine fields), keeping the count of copies;
    - drops the rows of users on the GDPR erasure list, keeping only how many there were per file.
    Its post-hook persists the lines DuckDB could not parse (see persist_csv_read_errors).
-#}

with source as (

    select * from {{ source('rees46', 'events') }}

),

erasure_requests as (

    select distinct user_id from {{ ref('gdpr_erasure_requests') }}

),

flagged as (

    select
        source.*,
        source.user_id is not null
            and source.user_id in (select erasure_requests.user_id from erasure_requests) as is_gdpr_erased
    from source

),

deduplicated as (

    -- Erased rows collapse to one content-free row per file; all others group on their content.
    select
        if(is_gdpr_erased, null, event_time) as event_time,
        if(is_gdpr_erased, null, event_type) as event_type,
        if(is_gdpr_erased, null, product_id) as product_id,
        if(is_gdpr_erased, null, category_id) as category_id,
        if(is_gdpr_erased, null, category_code) as category_code,
        if(is_gdpr_erased, null, brand) as brand,
        if(is_gdpr_erased, null, price) as price,
        if(is_gdpr_erased, null, user_id) as user_id,
        if(is_gdpr_erased, null, user_session) as user_session,
        if(is_gdpr_erased, filename, null) as erased_from_file,
        is_gdpr_erased,
        min(filename) as source_file,
        count(*) as line_count
    from flagged
    group by all

)

select
    event_time,
    event_type,
    product_id,
    category_id,
    category_code,
    brand,
    price,
    user_id,
    user_session,
    source_file,
    line_count,
    is_gdpr_erased
from deduplicated
