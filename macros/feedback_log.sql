{% macro feedback_log_dir() -%}
    {#- The API's feedback log (CONTRACTS.md): var feedback_dir, else $AMAZING_FEEDBACK_DIR, else
        feedback/ beside the warehouse file ($AMAZING_WAREHOUSE). -#}
    {%- set configured = var('feedback_dir', '') | trim -%}
    {%- if configured == '' -%}
        {%- set configured = env_var('AMAZING_FEEDBACK_DIR', '') | trim -%}
    {%- endif -%}
    {%- if configured == '' -%}
        {%- set parts = env_var('AMAZING_WAREHOUSE', 'warehouse/amazing.duckdb').split('/') -%}
        {%- set configured = (parts[:-1] | join('/') ~ '/feedback') if parts | length > 1 else 'feedback' -%}
    {%- endif -%}
    {{- return(configured.rstrip('/')) -}}
{%- endmacro %}


{% macro feedback_log_columns(kind) -%}
    {#- The fields the build reads from each line of one log (CONTRACTS.md), {name: duckdb type}. -#}
    {%- if kind == 'impressions' -%}
        {{- return({
            'request_id': 'VARCHAR', 'served_at': 'VARCHAR', 'user_id': 'BIGINT',
            'items': 'BIGINT[]', 'model': 'VARCHAR', 'build_id': 'VARCHAR', 'route': 'VARCHAR'
        }) -}}
    {%- elif kind == 'feedback' -%}
        {{- return({
            'request_id': 'VARCHAR', 'product_id': 'BIGINT', 'action': 'VARCHAR',
            'received_at': 'VARCHAR'
        }) -}}
    {%- endif -%}
    {{- exceptions.raise_compiler_error("unknown feedback log " ~ kind ~ ": impressions or feedback") -}}
{%- endmacro %}


{% macro feedback_log_files(kind) -%}
    {#- The glob of one log's files and how many files it matches now (0 at parse time). -#}
    {%- set pattern = feedback_log_dir() ~ '/' ~ kind ~ '/*.jsonl' -%}
    {%- set files = 0 -%}
    {%- if execute -%}
        {%- set found = run_query("select count(*) from glob('" ~ pattern | replace("'", "''") ~ "')") -%}
        {%- set files = found.columns[0].values()[0] -%}
    {%- endif -%}
    {{- return((pattern, files)) -}}
{%- endmacro %}


{% macro feedback_log_lines(kind) -%}
    {#- One row, one column `lines`: the non-blank lines of one log's files (0 without a file),
        whether they parse or not: what recommendation_log_reconciliation accounts for. -#}
    {%- set pattern, files = feedback_log_files(kind) -%}
    {%- if files > 0 %}
    select coalesce(sum(len(list_filter(string_split(content, chr(10)), lambda line: trim(line) <> ''))), 0)::bigint as lines
    from read_text('{{ pattern | replace("'", "''") }}')
    {%- else %}
    select 0::bigint as lines
    {%- endif -%}
{%- endmacro %}


{% macro read_feedback_log(kind, columns=none) -%}
    {#- The JSON-lines files of one log (impressions or feedback) as a relation of the given
        columns ({name: duckdb type}; default feedback_log_columns(kind)), or the same columns
        with no row when no file exists yet: a build without a running API (or before the first
        answer) must not fail. A line cut short by a crash is read as a row of nulls
        (ignore_errors), not a failed build; recommendation_log_reconciliation counts it. -#}
    {%- set columns = columns or feedback_log_columns(kind) -%}
    {%- set pattern, files = feedback_log_files(kind) -%}
    {%- if files > 0 %}
    select {% for name in columns %}{{ name }}{{ ", " if not loop.last }}{% endfor %}
    from read_json(
        '{{ pattern | replace("'", "''") }}',
        format = 'newline_delimited',
        columns = { {%- for name, type in columns.items() %}'{{ name }}': '{{ type }}'{{ ", " if not loop.last }}{% endfor -%} },
        ignore_errors = true
    )
    {%- else %}
    select {% for name, type in columns.items() %}cast(null as {{ type }}) as {{ name }}{{ ", " if not loop.last }}{% endfor %}
    where false
    {%- endif -%}
{%- endmacro %}


{% macro classified_impression_lines() -%}
    {#- Every line of the API's impression log with its outcome, decided once for the model that
        keeps the answers (stg_recommendation_impressions: outcome 'counted') and the one that
        accounts for every line (recommendation_log_reconciliation): 'unreadable_or_incomplete'
        (cut short, or without its request id or a readable time), 'erased_shopper' (the shopper
        is on the erasure list), 'repeated' (a request id logged before, as when a file is copied
        by hand: the first copy by time counts), else 'counted'. -#}
    with lines as (

        {{ read_feedback_log('impressions') }}

    ),

    checked as (

        select
            lines.request_id,
            -- ISO-8601 UTC with a Z, as the API writes it
            try_cast(replace(replace(lines.served_at, 'T', ' '), 'Z', '') as timestamp) as served_at,
            lines.user_id,
            coalesce(lines.items, []) as product_ids,
            lines.model as model_name,
            lines.build_id,
            lines.route
        from lines

    ),

    rejected as (

        select
            *,
            case
                when request_id is null or served_at is null then 'unreadable_or_incomplete'
                when user_id in (
                    select erased.user_id from {{ ref('gdpr_erasure_requests') }} as erased
                ) then 'erased_shopper'
            end as rejected_as
        from checked

    )

    select
        request_id,
        served_at,
        user_id,
        product_ids,
        model_name,
        build_id,
        route,
        coalesce(
            rejected_as,
            case
                when row_number() over (
                    partition by rejected_as is null, request_id
                    order by served_at, build_id, model_name, route
                ) > 1 then 'repeated'
                else 'counted'
            end
        ) as outcome
    from rejected
{%- endmacro %}


{% macro classified_feedback_lines() -%}
    {#- Every line of the API's feedback log with its outcome, decided once for
        stg_recommendation_feedback (outcome 'kept') and recommendation_log_reconciliation:
        'unreadable_or_incomplete' (cut short, without its request id or product, or an action
        other than click, cart or purchase), 'repeated' (the same action on the same product of
        the same answer, received before: the first counts), else 'kept'. Whether a kept line's
        answer showed the product is decided downstream (int_recommendation_outcomes). -#}
    with lines as (

        {{ read_feedback_log('feedback') }}

    ),

    checked as (

        select
            lines.request_id,
            lines.product_id,
            lower(lines.action) as action,
            try_cast(replace(replace(lines.received_at, 'T', ' '), 'Z', '') as timestamp)
                as received_at,
            case
                when lines.request_id is null
                    or lines.product_id is null
                    or lower(lines.action) is null
                    or lower(lines.action) not in ('click', 'cart', 'purchase')
                    then 'unreadable_or_incomplete'
            end as rejected_as
        from lines

    )

    select
        request_id,
        product_id,
        action,
        received_at,
        coalesce(
            rejected_as,
            case
                when row_number() over (
                    partition by rejected_as is null, request_id, product_id, action
                    order by received_at
                ) > 1 then 'repeated'
                else 'kept'
            end
        ) as outcome
    from checked
{%- endmacro %}
