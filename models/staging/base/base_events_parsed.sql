{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=["{{ incremental_event_files_pre_hook(this) }}"],
        post_hook=["{{ incremental_event_files_post_hook(this) }}"],
    )
}}
{#-
    The one full read of the raw files: one row per line that DuckDB could read into the
    nine-column layout. Fields are parsed into compact types (a UUID session, integer ids, an
    exact price); a field's raw text is kept only where it does not parse, for the quarantine.
    Lines of users on the GDPR erasure list keep no content at all: only the file they came from,
    so that they are still counted. So do lines older than the retention period (var
    retention_months, macro retention_expired): dropped here, counted in the data audit. Its
    post-hook persists the lines DuckDB could not read (see csv_read_errors_sql).

    Incremental by source file (macros/incremental_event_files.sql): a build reads only the
    files that are new or whose fingerprint (size, modification time) changed since the last
    load; the pre-hook deletes the rows of changed and vanished files, the post-hook applies the
    erasure list and the retention period to the rows kept from earlier loads.
-#}

with source as (

{%- if is_incremental() %}
    {%- set to_load = event_files_to_load(this) %}
    {%- if to_load | length > 0 %}

    select * from {{ event_files_read(to_load) }}
    {%- else %}

    -- every matched file is unchanged since the last load: nothing is read
    select
        null::timestamp as event_time, null::varchar as event_type, null::bigint as product_id,
        null::varchar as category_id, null::varchar as category_code, null::varchar as brand,
        null::varchar as price, null::bigint as user_id, null::varchar as user_session,
        null::varchar as filename
    where false
    {%- endif %}
{%- else %}

    select * from {{ source('rees46', 'events') }}
{%- endif %}

),

erasure_requests as (

    select distinct user_id from {{ ref('gdpr_erasure_requests') }}

),

parsed as (

    select
        filename,
        coalesce(user_id in (select erasure_requests.user_id from erasure_requests), false) as is_gdpr_erased,
        event_time,
        {{ retention_expired('event_time') }} as is_past_retention,
        {{ clean_text('event_type') }} as event_type,
        product_id,
        user_id,
        {{ clean_token('category_id') }} as category_id_text,
        {{ clean_text('category_code') }} as category_code,
        {{ clean_text('brand') }} as brand,
        {{ clean_token('price') }} as price_text,
        {{ clean_token('user_session') }} as user_session_text
    from source

),

typed as (

    select
        filename,
        is_gdpr_erased,
        not is_gdpr_erased and is_past_retention as is_retention_dropped,
        event_time,
        event_type,
        product_id,
        user_id,
        {{ safe_cast('category_id_text', 'bigint') }} as category_id,
        category_id_text,
        category_code,
        brand,
        if({{ is_finite(safe_cast('price_text', 'double')) }}, {{ safe_cast('price_text', 'decimal(18, 2)') }}, null) as price,
        price_text,
        {{ safe_cast('user_session_text', 'uuid') }} as session_uuid,
        user_session_text
    from parsed

),

content as (

    select
        filename,
        is_gdpr_erased,
        is_retention_dropped,
        event_time,
        event_type,
        product_id,
        user_id,
        category_id,
        if(category_id is null, category_id_text, null) as raw_category_id,
        category_code,
        brand,
        price,
        if(price is null, price_text, null) as raw_price,
        session_uuid,
        if(session_uuid is null, user_session_text, null) as raw_user_session
    from typed

),

final as (

    select
        filename as source_file,
        is_gdpr_erased,
        is_retention_dropped,
        -- a stable key: a hash of the parsed content; exact duplicates share it
        if(is_gdpr_erased or is_retention_dropped, null, {{ row_hash_key([
            'event_time', 'event_type', 'product_id', 'user_id', 'category_id', 'raw_category_id',
            'category_code', 'brand', 'price', 'raw_price', 'session_uuid', 'raw_user_session'
        ]) }}) as event_id,
        if(is_gdpr_erased or is_retention_dropped, null, event_time) as event_time,
        if(is_gdpr_erased or is_retention_dropped, null, event_type) as event_type,
        if(is_gdpr_erased or is_retention_dropped, null, product_id) as product_id,
        if(is_gdpr_erased or is_retention_dropped, null, user_id) as user_id,
        if(is_gdpr_erased or is_retention_dropped, null, category_id) as category_id,
        if(is_gdpr_erased or is_retention_dropped, null, raw_category_id) as raw_category_id,
        if(is_gdpr_erased or is_retention_dropped, null, category_code) as category_code,
        if(is_gdpr_erased or is_retention_dropped, null, brand) as brand,
        if(is_gdpr_erased or is_retention_dropped, null, price) as price,
        if(is_gdpr_erased or is_retention_dropped, null, raw_price) as raw_price,
        if(is_gdpr_erased or is_retention_dropped, null, session_uuid) as session_uuid,
        if(is_gdpr_erased or is_retention_dropped, null, raw_user_session) as raw_user_session
    from content

)

select * from final
