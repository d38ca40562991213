{#-
    The campaign sends marketing recorded: one row per campaign x send date x customer with the
    group it was in. Read from the CSV in var campaign_sends_path (header
    campaign_id,campaign_type,send_date,user_id,group_name,segment_name; segment_name = the
    customer's segment when it was sent, as campaign_assignments gives it); empty when the var is empty (the
    readout then warns that there is nothing to read). Erased customers are dropped.
-#}
{%- set sends_path = var('campaign_sends_path') -%}

with source as (

    {% if sends_path | trim == '' %}
    select
        cast(null as varchar) as campaign_id,
        cast(null as varchar) as campaign_type,
        cast(null as date) as send_date,
        cast(null as bigint) as user_id,
        cast(null as varchar) as group_name,
        cast(null as varchar) as segment_name
    where false
    {% else %}
    select * from read_csv(
        '{{ sends_path }}',
        columns = {
            'campaign_id': 'VARCHAR', 'campaign_type': 'VARCHAR', 'send_date': 'DATE',
            'user_id': 'BIGINT', 'group_name': 'VARCHAR',
            'segment_name': 'VARCHAR'
        },
        header = true, auto_detect = false
    )
    {% endif %}

),

erased as (

    select distinct user_id from {{ ref('gdpr_erasure_requests') }}

),

renamed as (

    select distinct
        trim(source.campaign_id) as campaign_id,
        trim(source.campaign_type) as campaign_type,
        source.send_date,
        source.user_id,
        lower(trim(source.group_name)) as group_name,
        coalesce(nullif(trim(source.segment_name), ''), 'Not recorded') as segment_name
    from source
    where source.user_id is not null
        and source.user_id not in (select erased.user_id from erased)

)

select * from renamed
