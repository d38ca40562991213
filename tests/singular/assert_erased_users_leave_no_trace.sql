-- GDPR erasure reaches every output: no user of the erasure list appears in any relation whose
-- meta says contains_personal_data (as its user id column, or as a field of a raw line). The
-- relations come from the metadata (macros/gdpr.sql, gdpr_erasure_targets), so a new
-- personal-data model is covered the day it is declared. Returns (relation, user_id) per trace.
--
-- The refs below only order this test after the current leaves of the lineage; they are not the
-- list of what is checked. A personal-data relation that is not upstream of them (a new leaf) is
-- not checked here, where it could still be stale, but by the on-run-end hook
-- gdpr_check_after_run, once everything is built.
-- depends_on: {{ ref('gdpr_erasure_requests') }}
-- depends_on: {{ ref('events_quarantine') }}
-- depends_on: {{ ref('orders') }}
-- depends_on: {{ ref('customers') }}
-- depends_on: {{ ref('customer_rfm') }}
-- depends_on: {{ ref('campaign_audiences') }}
-- depends_on: {{ ref('recommendations') }}
-- depends_on: {{ ref('user_embeddings') }}
-- depends_on: {{ ref('customer_propensity') }}
{%- set upstream = [] %}
{%- if execute %}
    {%- set pending = model.depends_on.nodes | list %}
    {%- for _ in range((graph.nodes | length) * 10) if pending %}
        {%- set current = pending.pop() %}
        {%- if current not in upstream %}
            {%- do upstream.append(current) %}
            {%- if current in graph.nodes %}{% do pending.extend(graph.nodes[current].depends_on.nodes) %}{% endif %}
        {%- endif %}
    {%- endfor %}
{%- endif %}
{%- set targets = [] %}
{%- for target in gdpr_erasure_targets() %}
    {%- if target.unique_id in upstream and adapter.get_relation(target.relation.database, target.relation.schema, target.relation.identifier) is not none %}
        {%- do targets.append(target) %}
    {%- endif %}
{%- endfor %}

{{ gdpr_erased_traces_sql(targets, ref('gdpr_erasure_requests')) }}
