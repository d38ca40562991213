{{ config(severity='warn') }}
-- Not an error: lines of the API's logs that recommendation_performance leaves out for a reason
-- other than a repeat or an erasure (a line cut short, feedback on a product the answer did not
-- show, or on an answer never logged). Shows in the build log when it happens; the counts and
-- reasons are in recommendation_log_reconciliation.
select log_name, outcome, lines, description
from {{ ref('recommendation_log_reconciliation') }}
where lines > 0
    and outcome in ('unreadable_or_incomplete', 'product_not_in_the_answer', 'no_answer_logged')
