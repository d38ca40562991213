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
