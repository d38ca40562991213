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


{% macro read_feedback_log(kind, columns) -%}
    {#- The JSON-lines files of one log (impressions or feedback) as a relation of the given
        columns ({name: duckdb type}), or the same columns with no row when no file exists yet:
        a build without a running API (or before the first answer) must not fail. A line cut
        short by a crash is skipped (ignore_errors), not a failed build. -#}
    {%- set pattern = feedback_log_dir() ~ '/' ~ kind ~ '/*.jsonl' -%}
    {%- set files = 0 -%}
    {%- if execute -%}
        {%- set found = run_query("select count(*) from glob('" ~ pattern | replace("'", "''") ~ "')") -%}
        {%- set files = found.columns[0].values()[0] -%}
    {%- endif -%}
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
